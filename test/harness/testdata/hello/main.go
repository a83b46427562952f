// Command hello is a fixture for the harness's own test of Binary and BinaryWithTags.
package main

import "fmt"

func main() { fmt.Println(greeting) }
