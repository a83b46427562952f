//go:build faultinject

package hostprep

import (
	"fmt"
	"os"
	"strconv"
)

// EnvCrashAfter makes a faultinject build exit right after the Nth change
// it makes (counting from 1), as if killed: no deferred cleanup, no journal
// removal. Tests use it to prove that the next apply converges.
const EnvCrashAfter = "HOSTNET_CRASH_AFTER"

// CrashExitCode is the exit status of an injected crash.
const CrashExitCode = 86

var crashAfter, _ = strconv.Atoi(os.Getenv(EnvCrashAfter))

func crashpoint(n int, what string) {
	if crashAfter > 0 && n == crashAfter {
		fmt.Fprintf(os.Stderr, "hostprep: injected crash after change %d (%s)\n", n, what)
		os.Exit(CrashExitCode)
	}
}
