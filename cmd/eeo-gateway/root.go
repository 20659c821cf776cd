package main

import (
	"fmt"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/client"
	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"github.com/spf13/cobra"
)

// newRootCmd builds the command tree. Errors are returned to run, never
// printed by cobra, so each is reported once with its exit status; flag and
// argument mistakes become exitcode.Usage.
func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "eeo-gateway",
		Short: "A gRPC/REST gateway to E*TRADE Equity Edge Online, its sandbox, and an operator client",
		Long: `eeo-gateway gives internal services EEO access tokens, imports and reports
over gRPC and REST without any of them handling EEO's OAuth credentials.

Exit status: 0 success, 1 failure, 2 usage, 3 caller auth, 4 not found,
5 EEO/upstream failure, 6 data integrity.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitcode.With(exitcode.Usage, err) })
	root.AddCommand(
		newServeCmd(e),
		newSandboxCmd(e),
		newVersionCmd(e),
		newCheckConfigCmd(e),
		client.NewCommand(client.Env{Getenv: e.getenv, Stdout: e.stdout, Stderr: e.stderr}),
	)
	// Added now rather than at execution, as cobra would, so that
	// usageEverywhere covers it too.
	root.InitDefaultCompletionCmd()
	usageEverywhere(root)
	return root
}

// usageEverywhere makes every argument mistake in the tree a usage error,
// including in the commands cobra provides, and makes every command that
// only holds subcommands a group.
func usageEverywhere(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		groupCommand(cmd)
	} else if cmd.Args != nil {
		cmd.Args = usageArgs(cmd.Args)
	}
	for _, sub := range cmd.Commands() {
		usageEverywhere(sub)
	}
}

// groupCommand makes cmd, which only holds subcommands, refuse to run
// without one: cobra would print its help and exit 0, which a script would
// read as success.
func groupCommand(cmd *cobra.Command) {
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return exitcode.Usagef("%s", msg)
	}
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		return exitcode.Usagef("%s needs a command; usage: %s COMMAND [flags]", c.CommandPath(), c.CommandPath())
	}
}

// usageArgs turns cobra's positional-argument checks into usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return exitcode.With(exitcode.Usage, check(cmd, args))
	}
}
