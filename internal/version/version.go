// Package version holds the version stamped in at build time (make build
// sets it from git describe).
package version

// Version is the release of this build.
var Version = "0.0.0-dev"
