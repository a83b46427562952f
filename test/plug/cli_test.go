package plug_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// plugCLI runs hostnet-plug in the host namespace with the host's config,
// as an operator or orchestrator would.
func (h *host) plugCLI(t *testing.T, args ...string) hookResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := h.ns.Command(ctx, append([]string{harness.Binary(t, "./plug")}, args...)...)
	cmd.Env = append(os.Environ(), "HOSTNET_CONFIG="+h.conf)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := hookResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("run hostnet-plug %v: %v", args, err)
	}
	return r
}
