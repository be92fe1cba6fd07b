package runner

import (
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/redact"
)

// noteSecrets records the values of a module's secret arguments, and of
// every key at any depth whose name says it holds a secret (a pg_copy
// source's login_password, an environment's PGPASSWORD).
func noteSecrets(set *redact.Set, info *module.Info, raw map[string]any) {
	if set == nil {
		return
	}
	for _, a := range info.Args {
		if v, ok := raw[a.Name]; ok && a.Secret {
			set.AddValue(v)
		}
	}
	noteSecretKeys(set, raw, 0)
}

func noteSecretKeys(set *redact.Set, v any, depth int) {
	if depth > 20 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if redact.IsSecretName(k) {
				set.AddValue(e)
			} else {
				noteSecretKeys(set, e, depth+1)
			}
		}
	case []any:
		for _, e := range x {
			noteSecretKeys(set, e, depth+1)
		}
	}
}
