package modules

import "github.com/cutover/cutover/engine/module"

// Shell is the shell module: it runs a command line through /bin/sh, so
// pipes, redirects and variables work.
func Shell() module.Info {
	return module.Info{
		Name:     "shell",
		Doc:      "Runs a command line through /bin/sh (or executable). In check mode it never runs: skipped, or changed when creates/removes say it would run.",
		FreeForm: "cmd",
		Args: append([]module.Arg{
			{Name: "cmd", Type: module.String, Aliases: []string{"_raw_params", "free_form"}, Doc: "the command line"},
			{Name: "executable", Type: module.Path, Doc: "the shell to use instead of /bin/sh"},
		}, commonCommandArgs()...),
		New: func() module.Module { return commandModule{shell: true} },
	}
}
