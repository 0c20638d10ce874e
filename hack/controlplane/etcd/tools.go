//go:build tools

// Package tools pins the command packages built by hack/controlplane/build.sh.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
