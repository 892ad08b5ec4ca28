// Command candid is the one binary of Candid: the server (serve, the
// default) and the tools for curators and operators (match, faq, user,
// config, version).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `candid — anonymous sexual-health questions, answered.

Usage:
  candid [serve] [flags]        run the service (the default): web chat, console, API, adapters
  candid match [--json] [--faq DIR] [QUESTION…]
                                classify questions exactly like the bot (stdin: one a line)
  candid faq lint [DIR]         check FAQ entries (schema, duplicates, sources, review dates)
  candid faq eval --cases FILE  measure the matcher on labelled questions (JSON lines)
  candid faq show ID            show an entry as an asker sees it
  candid user add|remove|list|token|reset …
                                manage clinic staff accounts (works while serve runs)
  candid keys rotate|list       rotate the handle and sealing keys; list them
  candid config                 print every configuration key (YAML, env, flag, default)
  candid version                print the version

Run "candid COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, stdout, stderr, getenv)
	case "match":
		err = matchCmd(args, stdin, stdout, stderr, getenv)
	case "faq":
		err = faqCmd(args, stdout, stderr, getenv)
	case "user":
		err = userCmd(ctx, args, stdout, stderr, getenv)
	case "keys":
		err = keysCmd(ctx, args, stdout, stderr, getenv)
	case "config":
		err = configCmd(args, stdout)
	case "version":
		fmt.Fprintln(stdout, "candid", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "candid: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "candid:", err)
	return 1
}

// exitError ends a command with a given code (e.g. lint found errors).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }
