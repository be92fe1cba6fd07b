package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/engine/inventory"
	"github.com/cutover/cutover/engine/redact"
	"github.com/cutover/cutover/engine/vault"
)

func newInventoryCommand(secrets *redact.Set) *cobra.Command {
	var sources []string
	var vf vaultFlags
	var list, graph, vars bool
	var host string
	cmd := &cobra.Command{
		Use:   "inventory [-i INVENTORY] (--list | --graph [GROUP] | --host HOST)",
		Short: "Show the inventory as ansible-inventory does",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keyring, err := vf.keyring(cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return &codedError{code: exitError, err: err}
			}
			inv, err := inventory.LoadVault(sources, &vault.Opener{Keyring: keyring, Redact: secrets})
			if err != nil {
				return reportLoadErrors(cmd.ErrOrStderr(), err)
			}
			out := cmd.OutOrStdout()
			switch {
			case host != "":
				b, err := inv.HostJSON(host)
				if err != nil {
					return &codedError{code: exitError, err: err}
				}
				fmt.Fprintln(out, string(b))
			case graph:
				group := "all"
				if len(args) == 1 {
					group = args[0]
				}
				if inv.Group(group) == nil {
					return &codedError{code: exitError, err: fmt.Errorf("Pattern must be valid group name when using --graph")}
				}
				if vars {
					fmt.Fprint(out, inv.GraphVars(group))
				} else {
					fmt.Fprint(out, inv.Graph(group))
				}
			case list:
				b, err := inv.ListJSON(true)
				if err != nil {
					return &codedError{code: exitError, err: err}
				}
				fmt.Fprintln(out, string(b))
			default:
				return &codedError{code: exitUsage, err: fmt.Errorf("No action selected, at least one of --host, --graph or --list needs to be specified.")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	vf.add(f)
	f.StringArrayVarP(&sources, "inventory", "i", nil, "inventory file, folder or comma-separated host list (repeatable)")
	f.BoolVar(&list, "list", false, "print all hosts and groups as JSON")
	f.BoolVar(&graph, "graph", false, "print the group tree")
	f.BoolVar(&vars, "vars", false, "with --graph, show variables")
	f.StringVar(&host, "host", "", "print one host's variables as JSON")
	return cmd
}
