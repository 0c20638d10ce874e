"""Stage objects that play kubelet for the devcluster's fake nodes, written for kwok v0.8.0.

Why we need them: kwok v0.8.0 has no stages built in (without any it exits with "no stages found"), and we
start `kwok` ourselves rather than through kwokctl, so `components.kwok_config()` writes these into the
config file kwok reads.

How kwok runs a Stage (pkg/utils/lifecycle and pkg/kwok/controllers in sigs.k8s.io/kwok@v0.8.0):
- Every change to a managed Node, or to a Pod bound to a managed Node, is matched against all stages of
  that kind. When several match, kwok picks one at random, so the selectors below are mutually exclusive.
- A stage without a selector is dropped, so each has one. Each selector entry is a jq query whose results
  are tested with In / NotIn / Exists / DoesNotExist; a query that yields nothing counts as "does not exist".
- `steps` run in order: `patch` renders a Go template (sprig functions plus kwok's own: Now, Quote, Version,
  NodeConditions, NodeIP, NodeName, NodePort for nodes; NodeIPsWith, PodIPsWith... for pods) against the
  object as JSON, turns the YAML into JSON, nests it under `root` and sends it to `subresource`. Node and
  Pod status lists such as conditions and addresses merge by `type` in a strategic merge patch, so a patch
  only has to carry the entries it changes. `finalizers` edits metadata.finalizers; `delete` deletes with
  grace period 0.
- A stage's `delay` (a minimum and an upper bound for the random jitter) postpones its steps; any change to
  the object in the meantime makes kwok match it afresh.

Node liveness: we run kwok with --node-lease-duration-seconds, so kwok renews each node's Lease in
kube-node-lease, and kube-controller-manager's node lifecycle controller counts a renewed Lease as a
heartbeat. The status refresh stage is therefore not what keeps nodes Ready; it only keeps
lastHeartbeatTime moving every few minutes, as a kubelet using leases still reports its status.
"""

KWOK_VERSION = "v0.8.0"

# A node kwok manages that is not Ready (new, or marked Unknown by the node lifecycle controller) gets the
# status a healthy kubelet would post. Existing addresses, capacity and nodeInfo values are kept: only what
# is missing is filled in.
_NODE_BRING_UP = r"""
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: mlops-node-bring-up
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    # No Ready condition at all also matches: the query then yields nothing, which is "not in".
    - jq:
        key: '.status.conditions[]? | select(.type == "Ready") | .status'
        operator: NotIn
        values: ["True"]
  steps:
  - patch:
      subresource: status
      root: status
      type: strategic
      template: |
        {{- $now := Now }}
        {{- /* kwok's five healthy conditions: Ready True; the three pressures and NetworkUnavailable False. */}}
        conditions:
        {{- range NodeConditions }}
        - type: {{ .type | Quote }}
          status: {{ .status | Quote }}
          reason: {{ .reason | Quote }}
          message: {{ .message | Quote }}
          lastHeartbeatTime: {{ $now | Quote }}
          lastTransitionTime: {{ $now | Quote }}
        {{- end }}

        {{- /* Addresses merge by type, so send only the types the node lacks. kwok's NodeName is its
               --node-name flag, empty here; the node's own name stands in as its hostname. */}}
        {{- $present := dict }}
        {{- range .status.addresses }}{{ $_ := set $present .type true }}{{ end }}
        {{- $missing := list }}
        {{- if and NodeIP (not (hasKey $present "InternalIP")) }}
        {{- $missing = append $missing (dict "type" "InternalIP" "address" NodeIP) }}
        {{- end }}
        {{- if not (hasKey $present "Hostname") }}
        {{- $missing = append $missing (dict "type" "Hostname" "address" (or NodeName .metadata.name)) }}
        {{- end }}
        {{- with $missing }}
        addresses: {{ toJson . }}
        {{- end }}

        {{- /* Nodes we create carry capacity already; anything else gets a roomy default, and
               allocatable falls back to capacity (no system reservations on a fake node). */}}
        {{- $capacity := or .status.capacity (dict "cpu" "32" "memory" "128Gi" "pods" "110") }}
        {{- if not .status.capacity }}
        capacity: {{ toJson $capacity }}
        {{- end }}
        {{- if not .status.allocatable }}
        allocatable: {{ toJson $capacity }}
        {{- end }}

        {{- with NodePort }}
        daemonEndpoints:
          kubeletEndpoint:
            Port: {{ . }}
        {{- end }}

        {{- /* Report kwok's own version where a kubelet reports the versions of its parts. */}}
        {{- $info := or .status.nodeInfo (dict) }}
        {{- $kwok := printf "kwok-%s" Version }}
        nodeInfo:
          operatingSystem: {{ or $info.operatingSystem "linux" | Quote }}
          architecture: {{ or $info.architecture "amd64" | Quote }}
          kubeletVersion: {{ or $info.kubeletVersion $kwok | Quote }}
          kubeProxyVersion: {{ or $info.kubeProxyVersion $kwok | Quote }}
          containerRuntimeVersion: {{ or $info.containerRuntimeVersion $kwok | Quote }}
          kernelVersion: {{ or $info.kernelVersion $kwok | Quote }}
          osImage: {{ or $info.osImage "" | Quote }}
          machineID: {{ or $info.machineID "" | Quote }}
          systemUUID: {{ or $info.systemUUID "" | Quote }}
          bootID: {{ or $info.bootID "" | Quote }}
        phase: Running
"""

# A Ready node re-posts its conditions every 4-5 minutes (a kubelet's default status report period with
# leases is 5 minutes). Conditions merge by type and lastTransitionTime is left out, so only the heartbeat
# times move. Each refresh changes the node, which schedules the next one.
_NODE_STATUS_REFRESH = r"""
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: mlops-node-status-refresh
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - jq:
        key: '.status.conditions[]? | select(.type == "Ready") | .status'
        operator: In
        values: ["True"]
  delay:
    durationMilliseconds: 240000
    jitterDurationMilliseconds: 300000
  steps:
  - patch:
      subresource: status
      root: status
      type: strategic
      template: |
        {{- $now := Now }}
        conditions:
        {{- range NodeConditions }}
        - type: {{ .type | Quote }}
          status: {{ .status | Quote }}
          reason: {{ .reason | Quote }}
          message: {{ .message | Quote }}
          lastHeartbeatTime: {{ $now | Quote }}
        {{- end }}
"""

# A pod the scheduler bound to a managed node starts at once: every container running and ready, init
# containers finished (restartable "sidecar" init containers running instead), IPs assigned. The podIP test
# keeps it from matching again; the phase test leaves alone pods some controller already finished or failed.
_POD_RUN = r"""
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: mlops-pod-run
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - jq:
        key: .metadata.deletionTimestamp
        operator: DoesNotExist
    - jq:
        key: .status.podIP
        operator: DoesNotExist
    - jq:
        key: .status.phase
        operator: In
        values: ["Pending"]
  steps:
  - patch:
      subresource: status
      root: status
      type: strategic
      template: |
        {{- $now := Now }}
        phase: Running
        startTime: {{ $now | Quote }}
        {{- /* Conditions merge by type: ones already True (PodScheduled, set by the scheduler) are left
               out so they keep their transition time. Readiness gates have nobody to flip them here, so
               they are declared passed. */}}
        {{- $isTrue := dict }}
        {{- range .status.conditions }}{{ if eq .status "True" }}{{ $_ := set $isTrue .type true }}{{ end }}{{ end }}
        {{- $wanted := list "PodScheduled" "PodReadyToStartContainers" "Initialized" "ContainersReady" "Ready" }}
        {{- range .spec.readinessGates }}{{ $wanted = append $wanted .conditionType }}{{ end }}
        {{- $flip := list }}
        {{- range $wanted }}{{ if not (hasKey $isTrue .) }}
        {{- $flip = append $flip (dict "type" . "status" "True" "lastTransitionTime" $now) }}
        {{- end }}{{ end }}
        {{- with $flip }}
        conditions: {{ toJson . }}
        {{- end }}

        {{- with .spec.initContainers }}
        initContainerStatuses:
        {{- range . }}
        - name: {{ .name | Quote }}
          image: {{ .image | Quote }}
          restartCount: 0
          ready: true
          {{- if eq (or .restartPolicy "") "Always" }}
          started: true
          state:
            running:
              startedAt: {{ $now | Quote }}
          {{- else }}
          started: false
          state:
            terminated:
              exitCode: 0
              reason: Completed
              startedAt: {{ $now | Quote }}
              finishedAt: {{ $now | Quote }}
          {{- end }}
        {{- end }}
        {{- end }}

        containerStatuses:
        {{- range .spec.containers }}
        - name: {{ .name | Quote }}
          image: {{ .image | Quote }}
          restartCount: 0
          ready: true
          started: true
          state:
            running:
              startedAt: {{ $now | Quote }}
        {{- end }}

        {{- /* PodIPsWith takes an address from kwok's pool (the node's podCIDR, else --cidr) on every
               call, so it is called once. Host-network pods get the node's addresses instead. */}}
        {{- $hostIPs := NodeIPsWith .spec.nodeName }}
        {{- with $hostIPs }}
        hostIP: {{ first . | Quote }}
        hostIPs:
        {{- range . }}
        - ip: {{ . | Quote }}
        {{- end }}
        {{- end }}
        {{- $meta := .metadata }}
        {{- $podIPs := PodIPsWith .spec.nodeName (or .spec.hostNetwork false) $meta.uid $meta.name $meta.namespace }}
        {{- with $podIPs }}
        podIP: {{ first . | Quote }}
        podIPs:
        {{- range . }}
        - ip: {{ . | Quote }}
        {{- end }}
        {{- end }}
"""

# A running pod that belongs to a Job finishes successfully right away, so Jobs complete. Container start
# times are carried over from the running state when there is one.
_JOB_POD_FINISH = r"""
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: mlops-job-pod-finish
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - jq:
        key: .metadata.deletionTimestamp
        operator: DoesNotExist
    - jq:
        key: .status.phase
        operator: In
        values: ["Running"]
    - jq:
        key: '.metadata.ownerReferences[]?.kind'
        operator: In
        values: ["Job"]
  steps:
  - patch:
      subresource: status
      root: status
      type: strategic
      template: |
        {{- $now := Now }}
        {{- $startedAt := dict }}
        {{- range $status := .status.containerStatuses }}
        {{- with $status.state.running }}{{ $_ := set $startedAt $status.name .startedAt }}{{ end }}
        {{- end }}
        phase: Succeeded
        conditions:
        {{- range list "ContainersReady" "Ready" }}
        - type: {{ . }}
          status: "False"
          reason: PodCompleted
          lastTransitionTime: {{ $now | Quote }}
        {{- end }}
        containerStatuses:
        {{- range .spec.containers }}
        - name: {{ .name | Quote }}
          image: {{ .image | Quote }}
          restartCount: 0
          ready: false
          started: false
          state:
            terminated:
              exitCode: 0
              reason: Completed
              startedAt: {{ or (get $startedAt .name) $now | Quote }}
              finishedAt: {{ $now | Quote }}
        {{- end }}
"""

# Without a kubelet nobody confirms a graceful deletion, so a pod marked for deletion is removed at once:
# its finalizers are dropped first, since the grace-period-0 delete cannot remove an object that still has
# them.
_POD_REMOVE = r"""
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: mlops-pod-remove
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - jq:
        key: .metadata.deletionTimestamp
        operator: Exists
  steps:
  - finalizers:
      empty: true
  - delete: true
"""

# The multi-document YAML kwok reads (Stage documents only; see components.kwok_config).
DEFAULT_STAGES = "---".join((_NODE_BRING_UP, _NODE_STATUS_REFRESH, _POD_RUN, _JOB_POD_FINISH, _POD_REMOVE))
