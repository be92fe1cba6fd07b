package expr

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/cutover/cutover/engine/pyfmt"

	"github.com/goccy/go-yaml"
)

func hashFilter(algo string) *filterDef {
	return fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) { return digest(algo, pyStr(in)) })
}

var dataFilters = map[string]*filterDef{
	"to_json": fdef([]string{"indent", "sort_keys"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		indent := -1
		if a.has(0) && a.p[0] != nil {
			var err error
			if indent, err = intArg(a.p[0], "indent"); err != nil {
				return nil, err
			}
		}
		return toJSON(in, indent)
	}),
	"to_nice_json": fdef([]string{"indent", "sort_keys"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		indent, err := intArg(a.get(0, 4), "indent")
		if err != nil {
			return nil, err
		}
		return toJSON(in, indent)
	}),
	"from_json": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		d := json.NewDecoder(strings.NewReader(pyStr(in)))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		return normDeep(v), nil
	}),
	"to_yaml": fdef([]string{"indent"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		return toYAML(in, a.get(0, 2), false)
	}),
	"to_nice_yaml": fdef([]string{"indent"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		return toYAML(in, a.get(0, 4), true)
	}),
	"from_yaml": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		var v any
		if err := yaml.Unmarshal([]byte(pyStr(in)), &v); err != nil {
			return nil, fmt.Errorf("invalid YAML: %w", err)
		}
		return normDeep(v), nil
	}),
	"b64encode": fdef([]string{"encoding"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		return base64.StdEncoding.EncodeToString([]byte(pyStr(in))), nil
	}),
	"b64decode": fdef([]string{"encoding"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		s := strings.TrimSpace(pyStr(in))
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
				return nil, fmt.Errorf("invalid base64: %w", err)
			}
		}
		return string(b), nil
	}),
	"hash": fdef([]string{"hashtype"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		return digest(a.str(0, "sha1"), pyStr(in))
	}),
	"md5":      hashFilter("md5"),
	"sha1":     hashFilter("sha1"),
	"checksum": hashFilter("sha1"),
}

func digest(algo, s string) (any, error) {
	var h hash.Hash
	switch algo {
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "sha224":
		h = sha256.New224()
	case "sha256":
		h = sha256.New()
	case "sha384":
		h = sha512.New384()
	case "sha512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("unsupported hash type %q", algo)
	}
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// normDeep converts decoded JSON or YAML into the value model.
func normDeep(v any) any {
	switch x := v.(type) {
	case Bound:
		return x.Text
	case json.Number:
		if i, err := strconv.Atoi(x.String()); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normDeep(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normDeep(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[pyStr(norm(k))] = normDeep(e)
		}
		return out
	}
	return norm(v)
}

// toJSON encodes as Python's json.dumps with sort_keys and ensure_ascii;
// indent >= 0 gives the multi-line form.
func toJSON(v any, indent int) (string, error) {
	if u := findUndefined(v); u != nil {
		return "", u.Err()
	}
	return pyfmt.JSON(normDeep(v), indent, true), nil
}

func toYAML(v any, indentArg any, nice bool) (any, error) {
	indent, err := intArg(indentArg, "indent")
	if err != nil {
		return nil, err
	}
	return emitYAML(v, indent, nice)
}

func isScalar(v any) bool {
	switch norm(v).(type) {
	case []any, map[string]any:
		return false
	}
	return true
}

func checkUndefinedDeep(v any) error {
	switch x := v.(type) {
	case *Undefined:
		return x.Err()
	case []any:
		for _, e := range x {
			if err := checkUndefinedDeep(e); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range x {
			if err := checkUndefinedDeep(e); err != nil {
				return err
			}
		}
	}
	return nil
}
