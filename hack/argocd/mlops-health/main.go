// Command mlops-health prints the health Argo CD would show for one live object, judged by the
// resource.customizations.health.<group>_<Kind> Lua of an argocd-cm ConfigMap file.
//
// It is built inside a copy of Argo CD's own module (hack/argocd/build.sh) and goes the way
// `argocd admin settings resource-overrides health` and the application controller go: the ConfigMap is
// parsed by Argo's SettingsManager (over a fake clientset), and the object is judged by gitops-engine's
// health.GetResourceHealth with Argo's lua.ResourceHealthOverrides. Unlike the admin command it does not
// add the app.kubernetes.io/part-of=argocd label, so a ConfigMap that Argo's informer would not see fails.
//
// Usage: mlops-health ARGOCD_CM_YAML [OBJECT_JSON_OR_YAML|-]
// Prints {"status": ..., "message": ...} on stdout. Exits 2 when no health script matches the object.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/argoproj/gitops-engine/pkg/health"
	log "github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

const namespace = "argocd"

type result struct {
	Status  health.HealthStatusCode `json:"status"`
	Message string                  `json:"message"`
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fail(1, "usage: mlops-health ARGOCD_CM_YAML [OBJECT_JSON_OR_YAML|-]")
	}
	log.SetLevel(log.WarnLevel) // the settings informers' start-up chatter is not a verdict
	objectPath := "-"
	if len(os.Args) == 3 {
		objectPath = os.Args[2]
	}
	overrides, err := loadOverrides(os.Args[1])
	if err != nil {
		fail(1, "reading %s: %v", os.Args[1], err)
	}
	obj, err := loadObject(objectPath)
	if err != nil {
		fail(1, "reading the object: %v", err)
	}
	status, err := health.GetResourceHealth(obj, lua.ResourceHealthOverrides(overrides))
	if err != nil {
		fail(1, "health of %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	if status == nil {
		gvk := obj.GroupVersionKind()
		fail(2, "no health script for %s/%s in %s", gvk.Group, gvk.Kind, os.Args[1])
	}
	if err := json.NewEncoder(os.Stdout).Encode(result{Status: status.Status, Message: status.Message}); err != nil {
		fail(1, "writing the result: %v", err)
	}
}

// loadOverrides parses the ConfigMap the way Argo CD's controller does: SettingsManager reads it through an
// informer (so name, namespace and the part-of label must be right) and merges the split
// resource.customizations.<type>.<group_kind> keys.
func loadOverrides(path string) (map[string]appv1.ResourceOverride, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(data, &cm); err != nil {
		return nil, err
	}
	cm.Namespace = namespace
	ctx := context.Background()
	manager := settings.NewSettingsManager(ctx, fake.NewClientset(&cm), namespace)
	if err := manager.ResyncInformers(); err != nil {
		return nil, err
	}
	return manager.GetResourceOverrides()
}

func loadObject(path string) (*unstructured.Unstructured, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &obj.Object); err != nil {
		return nil, err
	}
	return obj, nil
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "mlops-health: "+format+"\n", args...)
	os.Exit(code)
}
