package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cutover/cutover/engine/conn"
)

var update = flag.Bool("update", false, "rewrite golden outputs in testdata/script")

// TestMain lets testscript run this binary as the "cutover" command. The
// tests' runs keep their connections in a control folder of their own,
// whose keeper is stopped when they end.
func TestMain(m *testing.M) {
	commands := map[string]func() int{
		"cutover": func() int { return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) },
		// cutover-rc runs cutover, then prints its exit code on stderr and
		// succeeds, so scripts can assert the exact code.
		"cutover-rc": func() int {
			code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			fmt.Fprintf(os.Stderr, "exit code %d\n", code)
			return 0
		},
	}
	if _, ok := commands[filepath.Base(os.Args[0])]; ok {
		os.Exit(testscript.RunMain(m, commands))
	}
	// Test binaries this one starts as helpers share its folder.
	if dir := os.Getenv("CUTOVER_TEST_CONTROL_DIR"); dir != "" {
		os.Setenv("ANSIBLE_SSH_CONTROL_PATH_DIR", dir)
		os.Exit(testscript.RunMain(m, commands))
	}
	dir, err := os.MkdirTemp("", "cutover-test-cp")
	if err != nil {
		panic(err)
	}
	os.Setenv("ANSIBLE_SSH_CONTROL_PATH_DIR", dir)
	os.Setenv("CUTOVER_TEST_CONTROL_DIR", dir)
	code := testscript.RunMain(m, commands)
	conn.StopKeeper(dir)
	os.RemoveAll(dir)
	os.Exit(code)
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
			env.Setenv("ANSIBLE_SSH_CONTROL_PATH_DIR", os.Getenv("ANSIBLE_SSH_CONTROL_PATH_DIR"))
			return nil
		},
	})
}
