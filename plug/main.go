// Command hostnet-plug plugs VM NICs into hostnet's Open vSwitch bridges:
// add, del, show, sync and gc (see hostnet-plug --help).
package main

import "github.com/hostnet/hostnet/internal/plugcli"

func main() { plugcli.Main() }
