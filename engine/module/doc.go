package module

import (
	"fmt"
	"io"
	"strings"
)

// WriteDoc prints one module's documentation, from its declaration.
func WriteDoc(w io.Writer, i *Info) {
	fmt.Fprintf(w, "%s\n%s\n\n%s\n\n", strings.ToUpper(i.Name), strings.Repeat("=", len(i.Name)), i.Doc)
	if i.FreeForm != "" {
		fmt.Fprintf(w, "Takes a free-form value as %q: `%s: TEXT`.\n\n", i.FreeForm, i.Name)
	}
	if i.RawArgs {
		fmt.Fprintf(w, "Takes any key: value arguments.\n\n")
	}
	if len(i.Args) == 0 {
		return
	}
	fmt.Fprintln(w, "ARGUMENTS")
	for _, a := range i.Args {
		var notes []string
		notes = append(notes, a.Type.String())
		if a.Required {
			notes = append(notes, "required")
		}
		if a.Default != nil {
			notes = append(notes, fmt.Sprintf("default: %v", a.Default))
		}
		if len(a.Choices) > 0 {
			notes = append(notes, "choices: "+strings.Join(a.Choices, ", "))
		}
		if len(a.Aliases) > 0 {
			var shown []string
			for _, al := range a.Aliases {
				if !strings.HasPrefix(al, "_") {
					shown = append(shown, al)
				}
			}
			if len(shown) > 0 {
				notes = append(notes, "aliases: "+strings.Join(shown, ", "))
			}
		}
		if a.Secret {
			notes = append(notes, "secret")
		}
		fmt.Fprintf(w, "  %-20s %s\n  %-20s (%s)\n", a.Name, a.Doc, "", strings.Join(notes, "; "))
	}
}

// MarkdownTable renders the README's module table from the declarations.
func MarkdownTable(infos []*Info) string {
	var b strings.Builder
	b.WriteString("| module | what it does | arguments |\n|---|---|---|\n")
	for _, i := range infos {
		var args []string
		for _, a := range i.Args {
			name := "`" + a.Name + "`"
			if a.Required {
				name += "*"
			}
			args = append(args, name)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", i.Name, strings.ReplaceAll(i.Doc, "|", `\|`), strings.Join(args, " "))
	}
	b.WriteString("\n`*` marks a required argument. `cutover doc MODULE` prints the full declaration.\n")
	return b.String()
}
