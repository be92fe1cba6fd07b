package main

import (
	"fmt"
	"log"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/engine/lab"
)

func newLabCommand() *cobra.Command {
	dir := lab.DefaultDir
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "The rehearsal estate on this machine: every VM of the runbook on loopback (as root)",
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", lab.DefaultDir, "where the lab lives (inventory/lab.yml expects the default)")
	fail := asFailure
	up := &cobra.Command{
		Use:   "up",
		Short: "Build and start the lab (again: start what stopped)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fail((&lab.Lab{Dir: dir, Log: cmd.OutOrStdout()}).Up(cmd.Context()))
		},
	}
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop every process of the lab and remove it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fail((&lab.Lab{Dir: dir, Log: cmd.OutOrStdout()}).Down(cmd.Context()))
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show what runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hosts, services := (&lab.Lab{Dir: dir}).Status()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "HOST\tROLE\tADDRESS\tRUNNING\tSSH\tPOSTGRESQL")
			down := 0
			for _, h := range hosts {
				fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%v\t%v\n", h.Host.Name, h.Host.Role, h.Host.Addr(), h.Running, h.SSH, h.Pgsql)
				if !h.Running || !h.SSH || !h.Pgsql {
					down++
				}
			}
			w.Flush()
			for _, name := range []string{"bind", "relay"} {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %v\n", name, services[name])
				if !services[name] {
					down++
				}
			}
			if down > 0 {
				return &codedError{code: exitError, err: fmt.Errorf("%d parts of the lab are not running", down)}
			}
			return nil
		},
	}
	relay := &cobra.Command{
		Use:    "relay",
		Short:  "Run the pg_amqp stand-in and the archives consumer (lab up starts it)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := log.New(cmd.ErrOrStderr(), "relay: ", log.LstdFlags)
			err := (&lab.Lab{Dir: dir}).Relay(cmd.Context(), logger)
			if cmd.Context().Err() != nil {
				return nil
			}
			return fail(err)
		},
	}
	snapshot := &cobra.Command{
		Use:   "snapshot",
		Short: "Print a digest of the lab's state (files, databases, DNS, queues), one sorted line per item, to compare runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fail((&lab.Lab{Dir: dir}).Snapshot(cmd.Context(), cmd.OutOrStdout()))
		},
	}
	cmd.AddCommand(up, down, status, relay, snapshot)
	return cmd
}
