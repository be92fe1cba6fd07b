package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/vault"
)

// vaultFlags are the vault password options every command that reads
// vaults takes, as Ansible's commands do.
type vaultFlags struct {
	passwordFiles []string
	ids           []string
	ask           bool
}

func (v *vaultFlags) add(fl *pflag.FlagSet) {
	fl.StringArrayVar(&v.passwordFiles, "vault-password-file", nil, "vault password file, or an executable that prints it (repeatable)")
	fl.StringArrayVar(&v.passwordFiles, "vault-pass-file", nil, "same as --vault-password-file")
	fl.StringArrayVar(&v.ids, "vault-id", nil, "vault id as LABEL@SOURCE, SOURCE a file, an executable or 'prompt' (repeatable)")
	fl.BoolVarP(&v.ask, "ask-vault-password", "J", false, "ask for the vault password")
	fl.BoolVar(&v.ask, "ask-vault-pass", false, "same as --ask-vault-password")
}

// keyring loads every password the flags name. Prompts read the terminal
// on stdin and are written to stderr.
func (v *vaultFlags) keyring(stdin io.Reader, stderr io.Writer) (*vault.Keyring, error) {
	kr := &vault.Keyring{}
	ask := terminalPrompter(stdin, stderr)
	for _, f := range v.passwordFiles {
		s, err := vault.Load(vault.DefaultLabel, f, ask)
		if err != nil {
			return nil, err
		}
		kr.Secrets = append(kr.Secrets, s)
	}
	for _, id := range v.ids {
		label, source := vault.ParseVaultID(id)
		s, err := vault.Load(label, source, ask)
		if err != nil {
			return nil, err
		}
		kr.Secrets = append(kr.Secrets, s)
	}
	if v.ask {
		s, err := vault.Load(vault.DefaultLabel, "prompt", ask)
		if err != nil {
			return nil, err
		}
		kr.Secrets = append(kr.Secrets, s)
	}
	return kr, nil
}

// terminalPrompter asks on the terminal without echo; nil without one.
func terminalPrompter(stdin io.Reader, stderr io.Writer) vault.Prompter {
	tty, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(tty.Fd())) {
		return nil
	}
	return func(prompt string) ([]byte, error) {
		s, err := askSecret(stderr, tty, prompt)
		return []byte(s), err
	}
}

func newVaultCommand(stdin io.Reader) *cobra.Command {
	var vf vaultFlags
	var encryptID, output string
	var newVF vaultFlags
	cmd := &cobra.Command{
		Use:   "vault",
		Short: "Encrypt and decrypt files and values in Ansible Vault's format (ansible-vault)",
	}
	vf.add(cmd.PersistentFlags())
	cmd.PersistentFlags().StringVar(&encryptID, "encrypt-vault-id", "", "the vault id to encrypt with when several are given")

	keys := func(cmd *cobra.Command) (*vault.Keyring, error) {
		kr, err := vf.keyring(stdin, cmd.ErrOrStderr())
		if err != nil {
			return nil, &codedError{code: exitError, err: err}
		}
		kr.EncryptLabel = encryptID
		return kr, nil
	}
	fail := asFailure

	// perFile makes a command that opens the keyring, then handles each
	// FILE in turn and stops at the first failure.
	perFile := func(use, short, done string, each func(cmd *cobra.Command, kr *vault.Keyring, file string) error) *cobra.Command {
		return &cobra.Command{
			Use:   use + " FILE...",
			Short: short,
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				kr, err := keys(cmd)
				if err != nil {
					return err
				}
				for _, f := range args {
					if err := each(cmd, kr, f); err != nil {
						return fail(err)
					}
				}
				if done != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), done)
				}
				return nil
			},
		}
	}
	encrypt := perFile("encrypt", "Encrypt files in place (or to --output)", "Encryption successful",
		func(cmd *cobra.Command, kr *vault.Keyring, f string) error {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if vault.IsEncrypted(data) {
				return fmt.Errorf("%s is already encrypted", f)
			}
			out, err := kr.Encrypt(data)
			if err != nil {
				return err
			}
			return writeOutput(cmd, f, output, out)
		})
	decrypt := perFile("decrypt", "Decrypt files in place (or to --output)", "Decryption successful",
		func(cmd *cobra.Command, kr *vault.Keyring, f string) error {
			plain, err := openVaultFile(kr, f)
			if err != nil {
				return err
			}
			return writeOutput(cmd, f, output, plain)
		})
	for _, c := range []*cobra.Command{encrypt, decrypt} {
		c.Flags().StringVar(&output, "output", "", "write here instead of in place ('-' is standard output)")
	}
	view := perFile("view", "Print decrypted files", "",
		func(cmd *cobra.Command, kr *vault.Keyring, f string) error {
			plain, err := openVaultFile(kr, f)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(plain)
			return err
		})

	create := &cobra.Command{
		Use:   "create FILE",
		Short: "Create an encrypted file with $EDITOR",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, err := keys(cmd)
			if err != nil {
				return err
			}
			if _, err := os.Stat(args[0]); err == nil {
				return fail(fmt.Errorf("%s exists, please use 'edit' instead", args[0]))
			}
			plain, err := editInPrivate(cmd, nil)
			if err != nil {
				return fail(err)
			}
			out, err := kr.Encrypt(plain)
			if err != nil {
				return fail(err)
			}
			return asFailure(writeVaultFile(args[0], out))
		},
	}

	edit := &cobra.Command{
		Use:   "edit FILE",
		Short: "Edit an encrypted file with $EDITOR; it is written back encrypted with the same vault id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, err := keys(cmd)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fail(err)
			}
			plain, err := kr.Decrypt(args[0], data)
			if err != nil {
				return fail(err)
			}
			edited, err := editInPrivate(cmd, plain)
			if err != nil {
				return fail(err)
			}
			if bytes.Equal(edited, plain) {
				return nil // unchanged: the file keeps its ciphertext
			}
			env, _ := vault.Parse(data)
			if encryptID == "" {
				kr.EncryptLabel = env.Label
				if !kr.Has(env.Label) {
					kr.EncryptLabel = ""
				}
			}
			out, err := kr.Encrypt(edited)
			if err != nil {
				return fail(err)
			}
			return asFailure(writeVaultFile(args[0], out))
		},
	}

	rekey := &cobra.Command{
		Use:   "rekey FILE...",
		Short: "Encrypt files again with a new password (--new-vault-password-file or --new-vault-id)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, err := keys(cmd)
			if err != nil {
				return err
			}
			newKR, err := newVF.keyring(stdin, cmd.ErrOrStderr())
			if err != nil {
				return fail(err)
			}
			if newKR.Empty() {
				return fail(errors.New("rekey needs the new password: --new-vault-password-file or --new-vault-id"))
			}
			// Every file is opened before any is written: a wrong
			// password leaves them all as they were.
			plains := make([][]byte, len(args))
			for i, f := range args {
				if plains[i], err = openVaultFile(kr, f); err != nil {
					return fail(err)
				}
			}
			for i, f := range args {
				out, err := newKR.Encrypt(plains[i])
				if err != nil {
					return fail(err)
				}
				if err := writeVaultFile(f, out); err != nil {
					return fail(err)
				}
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "Rekey successful")
			return nil
		},
	}
	rekey.Flags().StringArrayVar(&newVF.passwordFiles, "new-vault-password-file", nil, "the new password's file or executable")
	rekey.Flags().StringArrayVar(&newVF.ids, "new-vault-id", nil, "the new vault id as LABEL@SOURCE")

	cmd.AddCommand(encrypt, decrypt, view, create, edit, rekey, newEncryptStringCommand(stdin, keys))
	return cmd
}

func newEncryptStringCommand(stdin io.Reader, keys func(*cobra.Command) (*vault.Keyring, error)) *cobra.Command {
	var names []string
	var stdinName string
	var prompt bool
	cmd := &cobra.Command{
		Use:   "encrypt_string [STRING...]",
		Short: "Encrypt values for use in YAML as !vault (from arguments, --stdin-name, or a prompt)",
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, err := keys(cmd)
			if err != nil {
				return err
			}
			var values []string
			switch {
			case prompt:
				ask := terminalPrompter(stdin, cmd.ErrOrStderr())
				if ask == nil {
					return &codedError{code: exitError, err: errors.New("--prompt needs a terminal")}
				}
				v, err := ask("String to encrypt (hidden): ")
				if err != nil {
					return &codedError{code: exitError, err: err}
				}
				values = []string{string(v)}
			case len(args) == 0 || (len(args) == 1 && args[0] == "-"):
				// The value from standard input keeps the secret out of
				// the process list and the shell's history.
				data, err := io.ReadAll(stdin)
				if err != nil {
					return &codedError{code: exitError, err: err}
				}
				values = []string{string(data)}
				if stdinName != "" {
					names = []string{stdinName}
				}
			default:
				values = args
			}
			out := cmd.OutOrStdout()
			for i, v := range values {
				enc, err := kr.Encrypt([]byte(v))
				if err != nil {
					return &codedError{code: exitError, err: err}
				}
				lines := strings.Split(strings.TrimSuffix(string(enc), "\n"), "\n")
				head := "!vault |"
				if i < len(names) {
					head = names[i] + ": !vault |"
				}
				fmt.Fprintln(out, head)
				for _, l := range lines {
					fmt.Fprintln(out, "          "+l)
				}
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "Encryption successful")
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&names, "name", "n", nil, "the variable name of each value, in order")
	cmd.Flags().StringVar(&stdinName, "stdin-name", "", "the variable name of the value read from standard input")
	cmd.Flags().BoolVarP(&prompt, "prompt", "p", false, "ask for the value on the terminal")
	return cmd
}

func asFailure(err error) error {
	if err != nil {
		return &codedError{code: exitError, err: err}
	}
	return nil
}

func openVaultFile(kr *vault.Keyring, name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if !vault.IsEncrypted(data) {
		return nil, fmt.Errorf("%s is not a vault-encrypted file", name)
	}
	return kr.Decrypt(name, data)
}

// writeOutput writes to --output ("-": standard output) or over file.
func writeOutput(cmd *cobra.Command, file, output string, data []byte) error {
	switch output {
	case "-":
		_, err := cmd.OutOrStdout().Write(data)
		return err
	case "":
		return writeVaultFile(file, data)
	}
	return writeVaultFile(output, data)
}

// writeVaultFile replaces a file atomically (temp file and rename), keeping
// its mode; a new file is 0600.
func writeVaultFile(path string, data []byte) error {
	opt := module.WriteOptions{}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		opt.Mode = 0o600
	}
	return (&conn.Local{}).WriteFile(context.Background(), path, data, opt)
}

// editInPrivate lets $EDITOR (or vi) change content in a file only we can
// read, in a folder only we can enter, and removes both afterwards.
func editInPrivate(cmd *cobra.Command, content []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "cutover-vault-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "plaintext.yml")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		return nil, err
	}
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	// $EDITOR may carry arguments ("code -w"), as Ansible allows.
	argv := append(strings.Fields(editor), path)
	ed := exec.Command(argv[0], argv[1:]...)
	ed.Stdin, ed.Stdout, ed.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := ed.Run(); err != nil {
		return nil, fmt.Errorf("editor %s: %w", editor, err)
	}
	return os.ReadFile(path)
}
