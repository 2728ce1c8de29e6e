package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every configuration variable.
const EnvPrefix = "ASSETD_"

// Variables with the prefix that are not configuration keys. ASSETD_CONFIG
// names the file; ASSETD_TEST_* belong to the tests' environment.
const (
	EnvConfig     = "ASSETD_CONFIG"
	envTestPrefix = "ASSETD_TEST_"
)

// envVar is one configuration key reachable from the environment.
type envVar struct {
	name  string // ASSETD_SOURCE_URL_ALLOWED_DOMAINS
	key   string // source.url.allowed-domains
	index []int  // field index path from Config
}

// envVars lists the keys of every section except profiles and paths, whose
// map keys (names, patterns with slashes) cannot be spelled in a variable
// name. They are derived from the yaml tags, so a new key gets its variable
// without a second list to keep in step.
func envVars() []envVar {
	var out []envVar
	var walk func(t reflect.Type, name, key string, index []int)
	walk = func(t reflect.Type, name, key string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if !f.IsExported() || tag == "" || tag == "-" {
				continue
			}
			n := name + "_" + strings.ToUpper(strings.ReplaceAll(tag, "-", "_"))
			k := tag
			if key != "" {
				k = key + "." + tag
			}
			idx := append(slices.Clone(index), i)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, n, k, idx)
				continue
			}
			if f.Type.Kind() == reflect.Map {
				continue // profiles, paths
			}
			out = append(out, envVar{name: n, key: k, index: idx})
		}
	}
	walk(reflect.TypeFor[Config](), strings.TrimSuffix(EnvPrefix, "_"), "", nil)
	return out
}

// EnvNames returns the names of all configuration variables, such as
// ASSETD_SERVER_LISTEN and ASSETD_SOURCE_URL_ALLOWED_DOMAINS, in the order of
// the keys.
func EnvNames() []string {
	var names []string
	for _, v := range envVars() {
		names = append(names, v.name)
	}
	return names
}

// CheckEnv reports, in one error, every variable in environ ("NAME=value"
// pairs, as from os.Environ) that has the ASSETD_ prefix but configures
// nothing, so that a misspelt override does not go unnoticed. ASSETD_CONFIG
// and ASSETD_TEST_* are allowed.
func CheckEnv(environ []string) error {
	known := map[string]bool{EnvConfig: true}
	for _, v := range envVars() {
		known[v.name] = true
	}
	var errs []error
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || strings.HasPrefix(name, envTestPrefix) || known[name] {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: unknown configuration variable", name))
	}
	return errors.Join(errs...)
}

// applyEnv sets every key whose variable getenv returns non-empty. Values
// are read as YAML scalars with the key's own type, so "10MiB" and "7d"
// work as in the file; lists are comma-separated. All bad values are
// reported at once, each naming its variable.
func (c *Config) applyEnv(getenv func(string) string) error {
	var errs []error
	root := reflect.ValueOf(c).Elem()
	for _, v := range envVars() {
		raw := getenv(v.name)
		if raw == "" {
			continue
		}
		field := root.FieldByIndex(v.index)
		node := &yaml.Node{Kind: yaml.ScalarNode, Value: raw}
		switch {
		case field.Kind() == reflect.Slice:
			node = &yaml.Node{Kind: yaml.SequenceNode}
			for _, item := range strings.Split(raw, ",") {
				if item = strings.TrimSpace(item); item != "" {
					node.Content = append(node.Content,
						&yaml.Node{Kind: yaml.ScalarNode, Value: item, Style: yaml.DoubleQuotedStyle})
				}
			}
		case field.Kind() == reflect.String:
			// Quoted, so that a secret such as "null" or "~" stays a string.
			node.Style = yaml.DoubleQuotedStyle
		}
		if checkNode(node, field.Type(), v.key) != nil {
			errs = append(errs, fmt.Errorf("%s (%s): must be an integer, not %q", v.name, v.key, raw))
			continue
		}
		target := reflect.New(field.Type())
		if err := node.Decode(target.Interface()); err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")
			msg = strings.TrimPrefix(msg, "line 0: ")
			errs = append(errs, fmt.Errorf("%s (%s): %s", v.name, v.key, msg))
			continue
		}
		field.Set(target.Elem())
	}
	return errors.Join(errs...)
}
