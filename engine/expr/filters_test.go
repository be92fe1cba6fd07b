package expr

import (
	"os"
	"slices"
	"testing"
)

var filterCases = []evalCase{
	{"default undefined", "missing | default('y')", "y"},
	{"d alias", "missing | d(5)", 5},
	{"default defined", "x | default('y')", 1},
	{"default empty", "empty | default('y')", ""},
	{"default boolean", "empty | default('y', true)", "y"}, // ansible
	{"default boolean kw", "empty | default(default_value='y', boolean=true)", "y"},
	{"default missing attr", "d.zz | default('y')", "y"},
	{"default attr of undefined", "missing.bar | default(1)", 1},    // ansible
	{"default item of undefined", "missing['bar'] | default(1)", 1}, // ansible
	{"default omit", "missing | default(omit)", Omit},
	{"mandatory ok", "x | mandatory", 1},
	{"upper", "s | upper", "HELLO"},
	{"lower", "'AbC' | lower", "abc"},
	{"capitalize", "'hELLO world' | capitalize", "Hello world"},
	{"title", "'foo bar-baz(qux' | title", "Foo Bar-Baz(Qux"}, // ansible
	{"trim", "'  x  ' | trim", "x"},
	{"int", "'42' | int", 42},
	{"int underscore", "'1_000' | int", 1000}, // ansible
	{"int base", "'0x1A' | int(base=16)", 26}, // ansible
	{"int float string", "'3.7' | int", 3},    // ansible
	{"int bad", "'abc' | int", 0},             // ansible
	{"int bad default", "'abc' | int(7)", 7},
	{"int float", "3.9 | int", 3},
	{"int bool", "true | int", 1},
	{"float", "3 | float", 3.0}, // ansible
	{"float string", "'1.5' | float", 1.5},
	{"float bad", "'x' | float", 0.0},
	{"bool yes", "'yes' | bool", true}, // ansible
	{"bool y", "'y' | bool", false},    // ansible
	{"bool two", "2 | bool", false},    // ansible
	{"bool one", "1 | bool", true},
	{"bool True", "'True' | bool", true},
	{"string", "1 | string", "1"}, // ansible
	{"string list", "[1, 'a'] | string", "[1, 'a']"},
	{"length", "'abc' | length", 3}, // ansible
	{"length list", "l | length", 3},
	{"count", "d | count", 2},
	{"join", "['a', 'b'] | join", "ab"}, // ansible
	{"join sep", "l | join(', ')", "1, 2, 3"},
	{"join attribute", "users | join(',', attribute='name')", "alice,bob"},
	{"split", "'hello world' | split", []any{"hello", "world"}}, // ansible
	{"split sep", "'a:b' | split(':')", []any{"a", "b"}},
	{"replace", "s | replace('l', 'L', 1)", "heLlo"},
	{"regex_replace", `'abc' | regex_replace('(b)', '[\1]')`, "a[b]c"},
	{"regex_replace named", `'k=v' | regex_replace('(?P<k>\w+)=(?P<v>\w+)', '\g<v>=\g<k>')`, "v=k"},
	{"regex_replace anchored", "'aaa' | regex_replace('^a', 'b')", "baa"},
	{"regex_replace dollar", "'a' | regex_replace('a', '$1')", "$1"},
	{"regex_replace icase", "'ABC' | regex_replace('b', 'x', ignorecase=true)", "AxC"},
	{"regex_search", `'ab12' | regex_search('\d+')`, "12"},
	{"regex_search none", "'x' | regex_search('y')", nil}, // ansible
	{"regex_search groups", `'ab12' | regex_search('(\w)(\d)', '\2', '\1')`, []any{"1", "b"}},
	{"regex_findall", `'a1b22' | regex_findall('\d+')`, []any{"1", "22"}},
	{"regex_findall groups", `'a=1,b=2' | regex_findall('(\w)=(\d)')`, []any{[]any{"a", "1"}, []any{"b", "2"}}},
	{"regex_escape", "'a.b' | regex_escape", `a\.b`}, // ansible
	{"to_json", "{'b': 1, 'a': [1, 2]} | to_json", `{"a": [1, 2], "b": 1}`},
	{"to_json unicode", "'é' | to_json", `"\u00e9"`},                       // ansible
	{"to_json indent", "{'a': 1} | to_json(indent=2)", "{\n  \"a\": 1\n}"}, // ansible
	{"to_nice_json", "{'b': 1, 'a': [1, 2], 'c': {}} | to_nice_json", "{\n    \"a\": [\n        1,\n        2\n    ],\n    \"b\": 1,\n    \"c\": {}\n}"}, // ansible
	{"from_json", `'{"a": [1, 2.5, null, true]}' | from_json`, map[string]any{"a": []any{1, 2.5, nil, true}}},
	{"to_yaml", "{'b': 1, 'a': [1, 2], 'c': {'x': 'y z'}} | to_yaml", "a: [1, 2]\nb: 1\nc: {x: y z}\n"},                 // ansible
	{"to_nice_yaml", "{'b': 1, 'a': [1, 2], 'c': {'x': 'y z'}} | to_nice_yaml", "a:\n- 1\n- 2\nb: 1\nc:\n    x: y z\n"}, // ansible
	{"to_nice_yaml quoting", "{'k': 'yes', 'n': '1', 'e': ''} | to_nice_yaml", "e: ''\nk: 'yes'\nn: '1'\n"},
	{"to_yaml list of dicts", "[{'a': 1, 'b': [1, {'c': 2}]}, 'x'] | to_yaml", "- a: 1\n  b:\n  - 1\n  - {c: 2}\n- x\n"},                   // ansible
	{"to_nice_yaml list of dicts", "[{'a': 1, 'b': [1, {'c': 2}]}, 'x'] | to_nice_yaml", "-   a: 1\n    b:\n    - 1\n    -   c: 2\n- x\n"}, // ansible
	{"to_nice_yaml quoting ansible", "{'z': 'a: b', 'q': \"it's\"} | to_nice_yaml", "q: it's\nz: 'a: b'\n"},                                // ansible
	{"to_yaml scalar", "'abc' | to_yaml", "abc\n"},                                                                                         // ansible
	{"from_yaml", "'a: [1, x]\nb: {c: true}' | from_yaml", map[string]any{"a": []any{1, "x"}, "b": map[string]any{"c": true}}},
	{"dict2items", "{'a': 1} | dict2items", []any{map[string]any{"key": "a", "value": 1}}},
	{"dict2items names", "{'a': 1} | dict2items(key_name='from', value_name='to')", []any{map[string]any{"from": "a", "to": 1}}},
	{"items2dict", "[{'key': 'a', 'value': 1}] | items2dict", map[string]any{"a": 1}},
	{"items2dict names", "[{'n': 'a', 'v': 1}] | items2dict(key_name='n', value_name='v')", map[string]any{"a": 1}},
	{"unique", "['a', 'A', 'b', 'a'] | unique", []any{"a", "b"}}, // ansible
	{"unique case", "['a', 'A'] | unique(case_sensitive=true)", []any{"a", "A"}},
	{"sort", "['b', 'A', 'a'] | sort", []any{"A", "a", "b"}}, // ansible
	{"sort reverse", "l | sort(reverse=true)", []any{3, 2, 1}},
	{"sort attribute", "[{'n': 'b'}, {'n': 'a'}] | sort(attribute='n') | map(attribute='n') | list", []any{"a", "b"}}, // ansible
	{"first", "l | first", 1},
	{"last", "l | last", 3},
	{"first string", "s | first", "h"},
	{"min", "[3, 1] | min", 1},       // ansible
	{"max", "['a', 'B'] | max", "B"}, // ansible
	{"max attribute", "(users | max(attribute='uid')).name", "bob"},
	{"sum", "[1, 2] | sum", 3}, // ansible
	{"sum start", "[[1], [2]] | sum(start=[])", []any{1, 2}},
	{"abs", "-3 | abs", 3},                  // ansible
	{"round half even", "2.5 | round", 2.0}, // ansible
	{"round int", "3 | round", 3},           // ansible
	{"round precision", "3.14159 | round(2)", 3.14},
	{"round ceil", "1.2 | round(0, 'ceil')", 2.0},
	{"list", "'ab' | list", []any{"a", "b"}},
	{"dict filter", "[['a', 1]] | dict", map[string]any{"a": 1}},
	{"flatten", "[1, [2, [3, none]]] | flatten", []any{1, 2, 3}}, // ansible
	{"flatten levels", "[1, [2, [3]]] | flatten(levels=1)", []any{1, 2, []any{3}}},
	{"union", "['a', 'b'] | union(['b', 'c'])", []any{"a", "b", "c"}}, // ansible
	{"intersect", "[1, 2, 3] | intersect([2, 3, 4])", []any{2, 3}},
	{"difference", "[1, 2, 3] | difference([2])", []any{1, 3}},
	{"symmetric_difference", "[1, 2, 3] | symmetric_difference([2, 3, 4])", []any{1, 4}}, // ansible
	{"product", "[1, 2] | product(['a', 'b']) | list", []any{[]any{1, "a"}, []any{1, "b"}, []any{2, "a"}, []any{2, "b"}}}, // ansible
	{"zip", "[1, 2] | zip(['a', 'b']) | list", []any{[]any{1, "a"}, []any{2, "b"}}},                                       // ansible
	{"combine", "{'a': 1, 'b': 2} | combine({'b': 3})", map[string]any{"a": 1, "b": 3}},
	{"combine recursive", "{'a': {'b': 1}} | combine({'a': {'c': 2}}, recursive=true)", map[string]any{"a": map[string]any{"b": 1, "c": 2}}}, // ansible
	{"combine flat", "{'a': {'b': 1}} | combine({'a': {'c': 2}})", map[string]any{"a": map[string]any{"c": 2}}},
	{"combine many", "{} | combine({'a': 1}, {'b': 2})", map[string]any{"a": 1, "b": 2}},
	{"combine list_merge", "{'a': [1]} | combine({'a': [2]}, list_merge='append')", map[string]any{"a": []any{1, 2}}},
	{"basename", "conf | basename", "site.conf"},
	{"basename trailing slash", "'/a/b/' | basename", ""}, // ansible
	{"dirname", "conf | dirname", "/etc/app/conf.d"},
	{"dirname bare", "'a' | dirname", ""},                              // ansible
	{"splitext", "'/a/b.tar.gz' | splitext", []any{"/a/b.tar", ".gz"}}, // ansible
	{"splitext dotfile", "'.bashrc' | splitext", []any{".bashrc", ""}},
	{"b64encode", "'hello' | b64encode", "aGVsbG8="},                        // ansible
	{"b64decode", "'aGVsbG8=' | b64decode", "hello"},                        // ansible
	{"hash md5", "'abc' | hash('md5')", "900150983cd24fb0d6963f7d28e17f72"}, // ansible
	{"md5", "'abc' | md5", "900150983cd24fb0d6963f7d28e17f72"},
	{"sha1", "'abc' | sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"},
	{"checksum", "'abc' | checksum", "a9993e364706816aba3e25717850c26c9cd0d89d"},
	{"hash sha256", "'abc' | hash('sha256')", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"quote", "'a b' | quote", "'a b'"}, // ansible
	{"quote safe", "'a/b.c' | quote", "a/b.c"},
	{"quote single", `"it's" | quote`, `'it'"'"'s'`},
	{"comment", "'hello' | comment", "#\n# hello\n#"}, // ansible
	{"comment c", "'a\\nb' | comment('c')", "//\n// a\n// b\n//"},
	{"comment cblock", "'a' | comment('cblock')", "/*\n *\n * a\n *\n */"}, // ansible
	{"comment xml", "'a' | comment('xml')", "<!--\n -\n - a\n -\n-->"},     // ansible
	{"indent", "'a\\n\\nb' | indent(2)", "a\n\n  b"},
	{"indent first blank", "'a\\n\\nb' | indent(2, true, true)", "  a\n  \n  b"},
	{"center", "'abc' | center(9)", "   abc   "},              // ansible
	{"center even", "'abc' | center(8)", "  abc   "},          // ansible
	{"ternary", "'x' | ternary('a', 'b')", "a"},               // ansible
	{"ternary none", "nothing | ternary('a', 'b', 'c')", "c"}, // ansible
	{"ternary false", "0 | ternary('a', 'b')", "b"},
	{"map filter", "names | map('upper') | list", []any{"B", "A", "C"}},
	{"map filter args", "names | map('regex_replace', '^', 'x') | list", []any{"xb", "xa", "xc"}},
	{"map attribute", "users | map(attribute='name') | list", []any{"alice", "bob"}}, // ansible
	{"map attribute default", "users | map(attribute='zz', default='-') | list", []any{"-", "-"}},
	{"select", "[1, 2, 3] | select('odd') | list", []any{1, 3}}, // ansible
	{"select truthy", "[0, 1, '', 'a'] | select | list", []any{1, "a"}},
	{"select arg", "l | select('>', 1) | list", []any{2, 3}},
	{"reject", "l | reject('even') | list", []any{1, 3}},
	{"selectattr", "users | selectattr('admin') | map(attribute='name') | list", []any{"alice"}},
	{"selectattr test", "users | selectattr('uid', 'equalto', 1001) | map(attribute='name') | list", []any{"bob"}},
	{"selectattr defined", "[{'a': 1}, {'b': 2}] | selectattr('a', 'defined') | list", []any{map[string]any{"a": 1}}}, // ansible
	{"rejectattr", "users | rejectattr('admin') | map(attribute='name') | first", "bob"},
	{"type_debug", "s | type_debug", "str"},
	{"type_debug dict", "d | type_debug", "dict"},
	{"lookup env", "lookup('env', 'CUTOVER_TEST_ENV')", "from-env"},
	{"lookup env missing", "lookup('env', 'CUTOVER_TEST_UNSET')", ""},
	{"query env", "query('env', 'CUTOVER_TEST_ENV')", []any{"from-env"}},
	{"q env", "q('env', 'CUTOVER_TEST_ENV', 'CUTOVER_TEST_UNSET')", []any{"from-env", ""}},
	{"namespaced filter", "{'a': 1} | ansible.builtin.to_json", `{"a": 1}`},
}

func TestMain(m *testing.M) {
	os.Setenv("CUTOVER_TEST_ENV", "from-env")
	os.Exit(m.Run())
}

func TestLookupFile(t *testing.T) {
	p := t.TempDir() + "/f.txt"
	if err := os.WriteFile(p, []byte("content\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Eval("lookup('file', path)", MapScope{"path": p})
	if err != nil || got != "content" {
		t.Fatalf("lookup file = %q, %v; want %q", got, err, "content")
	}
	if _, err := Eval("lookup('file', '/nonexistent/x')", MapScope{}); err == nil {
		t.Fatal("lookup of a missing file succeeded")
	}
}

func TestFilterAndTestLists(t *testing.T) {
	for _, name := range []string{"default", "d", "combine", "dict2items", "regex_replace", "to_nice_yaml", "mandatory"} {
		if !slices.Contains(Filters(), name) {
			t.Errorf("Filters() lacks %q", name)
		}
	}
	for _, name := range []string{"defined", "failed", "version", "match", "file", "sameas"} {
		if !slices.Contains(Tests(), name) {
			t.Errorf("Tests() lacks %q", name)
		}
	}
}
