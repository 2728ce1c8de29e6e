package main

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const (
		asset     = "assetd/internal/asset"
		httpapi   = "assetd/internal/httpapi"
		sqldb     = "assetd/internal/sqldb"
		filestore = "assetd/internal/filestore"
		imaging   = "assetd/internal/imaging"
		config    = "assetd/internal/config"
		testenv   = "assetd/internal/testenv"
		govips    = "github.com/davidbyttow/govips/v2/vips"
	)
	tests := []struct {
		name string
		pkgs []Package
		want []string // "package imports path" for each violation, in order
	}{
		{"the intended wiring", []Package{
			{asset, []string{"context", "io/fs"}},
			{asset + "/assettest", []string{asset, "testing"}},
			{httpapi, []string{asset, "github.com/gin-gonic/gin"}},
			{sqldb, []string{asset, "gorm.io/gorm"}},
			{imaging, []string{asset, govips}},
			{imaging + "/internal/pool", []string{imaging}},
			{config, []string{"gopkg.in/yaml.v3"}},
			{testenv, []string{"testing", "github.com/jackc/pgx/v5/stdlib"}},
			{"assetd/cmd/assetd", []string{asset, httpapi, sqldb, filestore, imaging, config}},
			{"assetd/cmd/testenv", []string{"github.com/jackc/pgx/v5"}},
		}, nil},
		{"domain imports an adapter", []Package{
			{asset, []string{"context", sqldb}},
		}, []string{asset + " imports " + sqldb}},
		{"domain imports a non-adapter internal package", []Package{
			{asset, []string{"assetd/internal/util"}},
		}, []string{asset + " imports assetd/internal/util"}},
		{"adapters import each other", []Package{
			{sqldb, []string{asset, filestore}},
			{filestore + "/sub", []string{imaging}},
		}, []string{sqldb + " imports " + filestore, filestore + "/sub imports " + imaging}},
		{"httpapi imports sqldb", []Package{
			{httpapi, []string{sqldb + "/migrate"}},
		}, []string{httpapi + " imports " + sqldb + "/migrate"}},
		{"config outside cmd", []Package{
			{httpapi, []string{config}},
			{"assetd/internal/other", []string{config}},
			{"assetd/cmd/assetd", []string{config}},
		}, []string{httpapi + " imports " + config, "assetd/internal/other imports " + config}},
		{"govips outside imaging", []Package{
			{"assetd/internal/lqip", []string{govips}},
			{"assetd/cmd/assetd", []string{"github.com/davidbyttow/govips/v2"}},
			{imaging, []string{govips}},
		}, []string{"assetd/internal/lqip imports " + govips, "assetd/cmd/assetd imports github.com/davidbyttow/govips/v2"}},
		{"testenv in non-test code", []Package{
			{sqldb, []string{testenv}},
			{"assetd/cmd/testenv", []string{testenv}},
		}, []string{sqldb + " imports " + testenv, "assetd/cmd/testenv imports " + testenv}},
		{"look-alike paths are not the packages they resemble", []Package{
			{"assetd/internal/assetx", []string{sqldb}},
			{sqldb, []string{"github.com/davidbyttow/govipsfork", "assetd/internal/sqldbx"}},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check("assetd", tt.pkgs)
			if len(got) != len(tt.want) {
				t.Fatalf("check found %d violations, want %d (%q):\n%q", len(got), len(tt.want), tt.want, got)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w+": ") {
					t.Errorf("violation %d = %q, want %q and a reason", i, got[i], w)
				}
			}
		})
	}
}
