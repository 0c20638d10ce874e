//go:build tools

// Package tools pins the command packages built by hack/controlplane/build.sh.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
