// Command pitrguard keeps every DynamoDB table recoverable to any second, and proves it.
package main

import (
	"os"

	"github.com/pitrguard/pitrguard/internal/cli"
)

func main() { os.Exit(cli.Main()) }
