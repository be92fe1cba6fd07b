package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/engine/module"
)

func newDocCommand(reg *module.Registry) *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "doc [MODULE]",
		Short: "Document the built-in modules",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if markdown {
				fmt.Fprint(out, module.MarkdownTable(reg.All()))
				return nil
			}
			if len(args) == 1 {
				info := reg.Get(args[0])
				if info == nil {
					return &codedError{code: exitError, err: fmt.Errorf("module %s not found", args[0])}
				}
				module.WriteDoc(out, info)
				return nil
			}
			for _, i := range reg.All() {
				doc := i.Doc
				if n := len(doc); n > 70 {
					doc = doc[:67] + "..."
				}
				fmt.Fprintf(out, "%-22s %s\n", i.Name, doc)
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, i := range reg.All() {
				names = append(names, i.Name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the README's module table")
	return cmd
}
