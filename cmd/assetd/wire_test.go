package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRefusesSettingsNotYetHonoured: a setting that this build would ignore
// stops start-up with a message naming it, rather than being ignored.
func TestRefusesSettingsNotYetHonoured(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "assetd.yaml")
	yaml := `
url-signing: {enabled: true, secret: s3cr3t}
paths:
  "/**": {bucket: assets}
  "/users/*/avatar":
    cache-control: {max-age: 60}
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"ASSETD_DATABASE_DSN":            filepath.Join(dir, "db"),
		"ASSETD_OBJECTS_FILESYSTEM_ROOT": filepath.Join(dir, "objects"),
		"ASSETD_SERVER_LISTEN":           "127.0.0.1:0",
	}
	err := run(context.Background(), []string{"-config", file}, func(k string) string { return env[k] }, &strings.Builder{})
	if err == nil {
		t.Fatal("run accepted settings it does not implement")
	}
	for _, want := range []string{"url-signing.enabled", `paths."/users/*/avatar".cache-control`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
