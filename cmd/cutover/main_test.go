package main

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite golden outputs in testdata/script")

// TestMain lets testscript run this binary as the "cutover" command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cutover": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		// cutover-rc runs cutover, then prints its exit code on stderr and
		// succeeds, so scripts can assert the exact code.
		"cutover-rc": func() {
			code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			fmt.Fprintf(os.Stderr, "exit code %d\n", code)
			os.Exit(0)
		},
	})
}

// TestScripts runs the CLI scenarios in testdata/script: each file holds a
// playbook, an inventory, the commands, and the expected output and exit
// codes.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			return nil
		},
	})
}
