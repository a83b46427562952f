//go:build !faultinject

package hostprep

// crashpoint is where a faultinject build may exit abruptly; in a normal
// build it is nothing.
func crashpoint(int, string) {}
