package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var guestBuild struct {
	once           sync.Once
	kernel, initrd string
	err            error
}

// Guest returns the test guest's kernel and initramfs, built by test/guest/build.sh into
// test/guest/out/ (gitignored). The build is cached across runs and redone when build.sh, init,
// the kernel, its modules or busybox change; a file lock serialises test processes.
func Guest(t testing.TB) (kernel, initrd string) {
	t.Helper()
	guestBuild.once.Do(func() {
		guestBuild.kernel, guestBuild.initrd, guestBuild.err = buildGuest()
	})
	if guestBuild.err != nil {
		t.Fatalf("build the test guest: %v", guestBuild.err)
	}
	return guestBuild.kernel, guestBuild.initrd
}

func buildGuest() (kernel, initrd string, err error) {
	root, err := repoRoot()
	if err != nil {
		return "", "", err
	}
	src := filepath.Join(root, "test", "guest")
	out := filepath.Join(src, "out")
	kernel, initrd = filepath.Join(out, "vmlinuz"), filepath.Join(out, "initrd.gz")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", "", err
	}
	lock, err := os.OpenFile(filepath.Join(out, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", "", err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return "", "", err
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	script := filepath.Join(src, "build.sh")
	inputs, err := run(exec.CommandContext(ctx, "sh", script, "--inputs"))
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	h.Write([]byte(inputs))
	for _, f := range []string{script, filepath.Join(src, "init")} {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", "", err
		}
		h.Write(b)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	stamp := filepath.Join(out, "stamp")
	if b, err := os.ReadFile(stamp); err == nil && string(b) == sum && exists(kernel) && exists(initrd) {
		return kernel, initrd, nil
	}
	if _, err := run(exec.CommandContext(ctx, "sh", script, out)); err != nil {
		return "", "", err
	}
	return kernel, initrd, os.WriteFile(stamp, []byte(sum), 0o644)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
