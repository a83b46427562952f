package config

import "os"

// DefaultPath is where hostnet looks for its config when neither the
// --config flag nor $HOSTNET_CONFIG says otherwise.
const DefaultPath = "/etc/hostnet/host.conf"

// EnvConfig names the environment variable that overrides DefaultPath.
const EnvConfig = "HOSTNET_CONFIG"

// Path resolves the config path: the flag value if set, else
// $HOSTNET_CONFIG, else DefaultPath.
func Path(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if p := os.Getenv(EnvConfig); p != "" {
		return p
	}
	return DefaultPath
}
