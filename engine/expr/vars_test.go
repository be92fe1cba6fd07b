package expr

// testScope is the variables every table test sees.
func testScope() MapScope {
	return MapScope{
		"x":     1,
		"f":     1.5,
		"s":     "hello",
		"empty": "",
		"l":     []any{1, 2, 3},
		"names": []any{"b", "a", "c"},
		"d":     map[string]any{"a": 1, "b": map[string]any{"c": "deep"}},
		"users": []any{
			map[string]any{"name": "alice", "uid": 1000, "admin": true},
			map[string]any{"name": "bob", "uid": 1001, "admin": false},
		},
		"inventory_hostname": "web1",
		"group_names":        []any{"web", "db"},
		"hostvars":           map[string]any{"web1": map[string]any{"ansible_host": "10.0.0.1"}},
		"result_ok":          map[string]any{"changed": true, "failed": false, "rc": 0},
		"result_fail":        map[string]any{"failed": true, "rc": 2, "changed": false},
		"result_skip":        map[string]any{"skipped": true, "changed": false},
		"result_rc":          map[string]any{"rc": 1},
		"loop_result":        map[string]any{"results": []any{map[string]any{"changed": false}, map[string]any{"changed": true}}},
		"lazy":               "{{ x + 1 }}",
		"lazy2":              "{{ lazy * 10 }}",
		"lazylist":           []any{"{{ x }}", "b"},
		"lazymap":            map[string]any{"k": "{{ s | upper }}"},
		"lazytext":           "v{{ x }}",
		"loop_a":             "{{ loop_b }}",
		"loop_b":             "{{ loop_a }}",
		"nothing":            nil,
		"yes_str":            "yes",
		"i64":                int64(5),
		"u64":                uint64(7),
		"conf":               "/etc/app/conf.d/site.conf",
		"version":            "2.14.1",
		"text":               "line1\nline2\n",
		"item":               map[string]any{"name": "nginx", "port": 80},
		"ports":              map[string]any{"http": 80, "https": 443},
		"range":              "shadowed",
	}
}
