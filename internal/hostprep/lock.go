package hostprep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// LockWait bounds how long apply waits for another apply to finish.
const LockWait = 2 * time.Minute

// errLocked is flock's answer while another process holds the lock.
var errLocked = errors.New("locked")

// lock takes the apply lock, a flock on the state directory itself (no
// file to leave behind), waiting while another apply holds it, up to
// LockWait or the end of ctx: two applies at once would each trip over the
// other's half-done move. The kernel drops the lock when the process dies,
// so a killed apply never blocks the next one.
func (e *Engine) lock(ctx context.Context) (unlock func(), err error) {
	dir := e.Env.StateDir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open state directory %s to lock it: %w", dir, err)
	}
	ctx, cancel := context.WithTimeout(ctx, LockWait)
	defer cancel()
	for waited := false; ; waited = true {
		err := tryLock(f)
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, fmt.Errorf("lock state directory %s: %w", dir, err)
		}
		if !waited {
			e.Log.Warn().Str("lock", dir).Msg("another hostprep apply is running; waiting for it to finish")
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("another hostprep apply still holds the lock on %s after %s: let it finish (find it with fuser %s), then run apply again", dir, LockWait, dir)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tryLock(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errLocked
	}
	return err
}
