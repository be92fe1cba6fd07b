package pyfmt

import "testing"

func TestFormats(t *testing.T) {
	v := map[string]any{"b": []any{1, 2.0, "é\n\b"}, "a": nil, "c": map[string]any{}, "d": true, "e": "it's"}
	tests := []struct{ name, got, want string }{
		{"json compact", JSON(v, -1, false), `{"a": null, "b": [1, 2.0, "é\n\b"], "c": {}, "d": true, "e": "it's"}`},
		{"json ascii", JSON("é", -1, true), `"\u00e9"`},
		{"json indented", JSON(map[string]any{"msg": []any{1}}, 4, false), "{\n    \"msg\": [\n        1\n    ]\n}"},
		{"repr", Repr(v), `{'a': None, 'b': [1, 2.0, 'é\n\x08'], 'c': {}, 'd': True, 'e': "it's"}`},
		{"str of a string", Str("x"), "x"},
		{"str of None", Str(nil), "None"},
		{"float big", Float(1e16), "1e+16"},
		{"float small", Float(0.00001), "1e-05"},
		{"float plain", Float(0.1), "0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got  %s\nwant %s", tc.got, tc.want)
			}
		})
	}
}
