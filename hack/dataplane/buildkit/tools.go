//go:build tools

// Package tools pins BuildKit's daemon and client, built by hack/dataplane/build.sh. BuildKit's go.mod
// has `exclude` lines, which `go install pkg@version` refuses, hence this wrapper module.
package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
