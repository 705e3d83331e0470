package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// buildVersion is set at build time with -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion string

// version is the release version, else the module version go install
// recorded, else "dev".
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

var versionCommand = command{
	name:    "version",
	summary: "print the version",
	usage:   "connect-sync version",
	flags:   func(*flag.FlagSet) action { return runVersion },
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintf(stdout, "connect-sync %s (%s)\n", version(), runtime.Version())
	return nil
}
