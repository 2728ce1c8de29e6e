// Command depcheck enforces the dependency rule of ARCHITECTURE.md on the
// non-test imports of every package in the module, and is run by `make lint`:
//
//   - internal/asset, the domain, imports no other package of internal/;
//   - an adapter (internal/httpapi, sqldb, filestore, s3store, imaging, lqip,
//     fetch, config) imports no other adapter, only the domain;
//   - in particular httpapi never imports sqldb;
//   - internal/config is imported only by commands under cmd/;
//   - only internal/imaging imports govips;
//   - internal/testenv is imported only by tests.
//
// It prints one line per violating import and exits 1 when there is any, 2
// when the packages cannot be listed.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

func main() {
	pkgs, module, err := listPackages()
	if err != nil {
		fmt.Fprintf(os.Stderr, "depcheck: %v\n", err)
		os.Exit(2)
	}
	violations := check(module, pkgs)
	for _, v := range violations {
		fmt.Println(v)
	}
	if len(violations) > 0 {
		fmt.Fprintf(os.Stderr, "depcheck: %d import(s) break the dependency rule (see ARCHITECTURE.md)\n", len(violations))
		os.Exit(1)
	}
}

// Package is a package of the module and its non-test imports, as listed by
// `go list`.
type Package struct {
	ImportPath string
	Imports    []string
}

// listPackages lists the module's packages with `go list`. It passes -e so
// that a package that does not compile still has its imports checked.
func listPackages() ([]Package, string, error) {
	out, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		return nil, "", fmt.Errorf("go list -m: %w", stderrOf(err))
	}
	module := strings.TrimSpace(string(out))
	out, err = exec.Command("go", "list", "-e", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		return nil, "", fmt.Errorf("go list: %w", stderrOf(err))
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, "", fmt.Errorf("decode go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, module, nil
}

func stderrOf(err error) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(exit.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(exit.Stderr)))
	}
	return err
}

// isAdapter reports whether area (a name under internal/) is a package at the
// edge: each may import the domain, never another adapter.
func isAdapter(area string) bool {
	switch area {
	case "httpapi", "sqldb", "filestore", "s3store", "imaging", "lqip", "fetch", "config":
		return true
	}
	return false
}

// govips is the libvips binding that only internal/imaging may use.
const govips = "github.com/davidbyttow/govips"

// check returns one message per import in pkgs that breaks the dependency
// rule, in the order of pkgs and their imports. module is the module path
// that package paths start with.
func check(module string, pkgs []Package) []string {
	internal := module + "/internal/"
	// area names the part of the tree a package belongs to: "asset" or an
	// adapter name for internal/NAME and its subpackages, "cmd" for
	// module/cmd/..., the package path otherwise.
	area := func(path string) string {
		if rest, ok := strings.CutPrefix(path, internal); ok {
			name, _, _ := strings.Cut(rest, "/")
			return name
		}
		if path == module+"/cmd" || strings.HasPrefix(path, module+"/cmd/") {
			return "cmd"
		}
		return path
	}
	within := func(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

	var violations []string
	for _, p := range pkgs {
		from := area(p.ImportPath)
		for _, imp := range p.Imports {
			to := area(imp)
			var why string
			switch {
			case within(imp, govips) && from != "imaging":
				why = "only internal/imaging may import govips"
			case !strings.HasPrefix(imp, internal) || to == from:
				// Outside internal/, or within the same area: allowed.
			case to == "testenv":
				why = "internal/testenv is for tests only"
			case from == "asset":
				why = "the domain imports no other internal package"
			case from == "httpapi" && to == "sqldb":
				why = "httpapi never imports sqldb; it talks to the domain's Repository"
			case to == "config" && from != "cmd":
				why = "only cmd/… may import internal/config"
			case isAdapter(from) && isAdapter(to):
				why = "adapters never import each other"
			}
			if why != "" {
				violations = append(violations, fmt.Sprintf("%s imports %s: %s", p.ImportPath, imp, why))
			}
		}
	}
	return violations
}
