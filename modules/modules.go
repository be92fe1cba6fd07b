// Package modules holds cutover's built-in modules, one file per module
// named after its playbook key.
package modules

import (
	"path"

	"github.com/cutover/cutover/engine/module"
)

// All returns every built-in module, in the order `cutover doc` lists them.
func All() []module.Info {
	return []module.Info{
		// generic
		Command(), Shell(), Copy(), File(), LineInFile(), BlockInFile(), Replace(), Template(), Stat(),
		Debug(), SetFact(), IncludeVars(), Assert(), Fail(), Pause(), WaitFor(), Meta(), Setup(),
		// the migration's host modules
		HostsEntry(), SudoersAlias(), Cron(), UfwRule(), Service(), Apt(),
		// databases and the broker
		AmqpPublishTest(), AmqpExpect(), DNSRecord(), Mail(), PgFunctionRewrite(), PgQuery(), PgUser(), PgDump(), PgRestore(), PgCopy(),
	}
}

func pathMatch(pattern, name string) (bool, error) { return path.Match(pattern, name) }
