//go:build tools

// Package tools pins the command packages built by hack/controlplane/build.sh.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
