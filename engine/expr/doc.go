// Package expr evaluates Ansible's Jinja2 expressions and templates.
//
// A small lexer and Pratt parser read the Jinja expression grammar
// (operators, literals, attribute and item access, slices, filters, tests,
// method calls, inline if). Each expression is translated once into
// expr-lang source that calls Go helpers carrying Jinja and Python
// semantics, compiled with expr-lang, cached by its text, and run with
// expr.Run against a small per-evaluation environment.
//
// Values are nil, bool, int, float64, string, []any and map[string]any;
// int64 and uint64 from YAML decoders are accepted as ints. A missing
// variable, key or attribute is an *Undefined value that default and
// "is defined" accept; any other use is an *UndefinedError with Ansible's
// message. Strings holding templates that a lookup reaches are rendered
// lazily with the same scope, as Ansible renders variables when used.
//
// Two Ansible conventions differ from plain Jinja. Inside {{ }} of
// playbook strings, backslashes in string literals are kept as written
// (Ansible doubles them before Jinja decodes them), so '\d' in a playbook
// is a regular expression escape; CompileTemplateFile follows Jinja, as
// the template module does. A template that is one {{ expr }} keeps the
// type of its value; otherwise None renders as an empty string.
package expr
