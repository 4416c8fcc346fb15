// Package k8s writes a sharded benchmark as Kubernetes Jobs, built from the
// official k8s.io/api types: an Indexed Job whose completion index is the shard
// (pod i runs `llmbench run --shard i/N` into /results/shard-i of a shared
// volume), and a one-pod Job that merges the shards (`llmbench merge`) once the
// first has completed.
//
//	job := k8s.Job{Name: "bench", Image: "registry/llmbench:1", Shards: 8, Config: "/config/gpu.yaml", Claim: "results"}
//	shards, err := job.Indexed()
//	merge, err := job.Merge()
//	err = k8s.WriteYAML(w, shards)
package k8s

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IndexEnv is the variable holding a pod's completion index in an Indexed Job.
const IndexEnv = "JOB_COMPLETION_INDEX"

// Job describes the Jobs of a sharded run. Zero values are the documented
// defaults.
type Job struct {
	// Name is the shard Job's name; the merge Job is Name-merge. Default
	// "llmbench".
	Name string
	// Namespace of both Jobs; "" leaves it to kubectl.
	Namespace string
	// Image is a container image holding llmbench and its engine. Required.
	Image string
	// Binary is llmbench's path in the image. Default "llmbench" (on PATH).
	Binary string
	// Shards is the number of shards, the Job's completions. At least 1.
	Shards int
	// Parallelism is the most shards running at once. Default Shards.
	Parallelism int
	// By is the shard grouping (shard.ByModel or ByCase); "" is by model.
	By string
	// SplitLoad adds load=split: every pod runs each load model at 1/Shards of
	// its load (Parallelism should then be Shards, so they run together).
	SplitLoad bool
	// Config is the benchmark configuration's path in the container (from the
	// image, or a ConfigMap mounted at ConfigMount). Required.
	Config string
	// ConfigMap, when set, is mounted at ConfigMount (default /config).
	ConfigMap   string
	ConfigMount string
	// Claim is the PersistentVolumeClaim holding the results, mounted at
	// Results (default /results) in every pod: it must be ReadWriteMany when
	// pods run on several nodes. Required.
	Claim   string
	Results string
	// CPU and Memory are each shard pod's requests and limits (e.g. "8",
	// "32Gi"); GPUs its nvidia.com/gpu limit. Empty or 0: none.
	CPU, Memory string
	GPUs        int
	// NodeSelector places the shard pods (e.g. a GPU product label).
	NodeSelector map[string]string
	// Retries is how often a failed shard is retried (backoffLimitPerIndex),
	// into the same folder. Default 0: a failed shard stays failed, and the
	// merge names it.
	Retries int
}

func (j Job) withDefaults() Job {
	if j.Name == "" {
		j.Name = "llmbench"
	}
	if j.Binary == "" {
		j.Binary = "llmbench"
	}
	if j.Parallelism == 0 {
		j.Parallelism = j.Shards
	}
	if j.ConfigMount == "" {
		j.ConfigMount = "/config"
	}
	if j.Results == "" {
		j.Results = "/results"
	}
	return j
}

func (j Job) check() error {
	var errs []error
	if j.Image == "" {
		errs = append(errs, errors.New("no image"))
	}
	if j.Config == "" {
		errs = append(errs, errors.New("no configuration path"))
	}
	if j.Claim == "" {
		errs = append(errs, errors.New("no results volume claim"))
	}
	if j.Shards < 1 || j.Parallelism < 1 || j.Parallelism > j.Shards {
		errs = append(errs, fmt.Errorf("shards %d, parallelism %d: want 1 ≤ parallelism ≤ shards", j.Shards, j.Parallelism))
	}
	if j.GPUs < 0 || j.Retries < 0 {
		errs = append(errs, errors.New("gpus and retries must not be negative"))
	}
	for what, q := range map[string]string{"cpu": j.CPU, "memory": j.Memory} {
		if _, err := resource.ParseQuantity(q); q != "" && err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", what, q, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kubernetes job %s: %w", j.Name, err)
	}
	return nil
}

// ShardDir returns shard i's output folder in the results volume.
func (j Job) ShardDir(i int) string {
	return path.Join(j.withDefaults().Results, fmt.Sprintf("shard-%d", i))
}

// MergedDir returns the merge Job's output folder in the results volume.
func (j Job) MergedDir() string { return path.Join(j.withDefaults().Results, "merged") }

// Indexed returns the Indexed Job: Shards completions, each pod running
// `llmbench run -q --config CONFIG --shard $(JOB_COMPLETION_INDEX)/N -o
// RESULTS/shard-$(JOB_COMPLETION_INDEX)`.
func (j Job) Indexed() (*batchv1.Job, error) {
	j = j.withDefaults()
	if err := j.check(); err != nil {
		return nil, err
	}
	spec := fmt.Sprintf("$(%s)/%d", IndexEnv, j.Shards)
	if j.By != "" {
		spec += ",by=" + j.By
	}
	if j.SplitLoad {
		spec += ",load=split"
	}
	args := []string{"run", "-q", "--config", j.Config, "--shard", spec,
		"-o", path.Join(j.Results, "shard-$("+IndexEnv+")")}
	c := j.container(j.Name, args)
	// The controller sets this variable too; declaring it makes the $(…) in the
	// arguments expand whatever the cluster's version.
	c.Env = append([]corev1.EnvVar{{
		Name: IndexEnv,
		ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
		}},
	}}, c.Env...)
	res := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for name, q := range map[corev1.ResourceName]string{corev1.ResourceCPU: j.CPU, corev1.ResourceMemory: j.Memory} {
		if q != "" {
			res.Requests[name] = resource.MustParse(q)
			res.Limits[name] = resource.MustParse(q)
		}
	}
	if j.GPUs > 0 {
		res.Limits["nvidia.com/gpu"] = *resource.NewQuantity(int64(j.GPUs), resource.DecimalSI)
	}
	if len(res.Requests) > 0 || len(res.Limits) > 0 {
		c.Resources = res
	}
	job := j.job(j.Name, c)
	mode := batchv1.IndexedCompletion
	job.Spec.CompletionMode = &mode
	job.Spec.Completions = ptr(int32(j.Shards))
	job.Spec.Parallelism = ptr(int32(j.Parallelism))
	job.Spec.BackoffLimitPerIndex = ptr(int32(j.Retries))
	job.Spec.Template.Spec.NodeSelector = j.NodeSelector
	return job, nil
}

// Merge returns the Job that merges the shards into RESULTS/merged: apply it
// once the shard Job has completed (kubectl wait --for=condition=complete). It
// fails, naming the shard, when a shard is missing or incomplete.
func (j Job) Merge() (*batchv1.Job, error) {
	j = j.withDefaults()
	if err := j.check(); err != nil {
		return nil, err
	}
	args := []string{"merge", "--config", j.Config, "-o", j.MergedDir()}
	for i := range j.Shards {
		args = append(args, j.ShardDir(i))
	}
	job := j.job(j.Name+"-merge", j.container("merge", args))
	job.Spec.BackoffLimit = ptr(int32(0))
	return job, nil
}

func (j Job) container(name string, args []string) corev1.Container {
	c := corev1.Container{
		Name:         name,
		Image:        j.Image,
		Command:      []string{j.Binary},
		Args:         args,
		VolumeMounts: []corev1.VolumeMount{{Name: "results", MountPath: j.Results}},
	}
	if j.ConfigMap != "" {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "config", MountPath: j.ConfigMount, ReadOnly: true})
	}
	return c
}

func (j Job) job(name string, c corev1.Container) *batchv1.Job {
	vols := []corev1.Volume{{Name: "results", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: j.Claim},
	}}}
	if j.ConfigMap != "" {
		vols = append(vols, corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: j.ConfigMap}},
		}})
	}
	labels := map[string]string{"app.kubernetes.io/name": "llmbench", "app.kubernetes.io/instance": j.Name}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: j.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{c},
					Volumes:       vols,
				},
			},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// WriteYAML writes the objects as one YAML document each, in the order of their
// Go fields (marshalled through their JSON form, as the API server reads them),
// without the empty status and null timestamps of objects not yet created.
func WriteYAML(w io.Writer, objs ...any) error {
	for i, o := range objs {
		data, err := json.Marshal(o)
		if err != nil {
			return err
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return err
		}
		tidy(&doc, 0)
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(&doc); err != nil {
			return err
		}
		if err := enc.Close(); err != nil {
			return err
		}
	}
	return nil
}

// tidy turns the flow style of JSON into block style and drops null values and
// an empty top-level status.
func tidy(n *yaml.Node, depth int) {
	n.Style &^= yaml.FlowStyle | yaml.DoubleQuotedStyle
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && needsQuotes(n.Value) {
		n.Style = yaml.DoubleQuotedStyle
	}
	if n.Kind == yaml.MappingNode {
		var kept []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Tag == "!!null" || depth == 0 && k.Value == "status" && len(v.Content) == 0 {
				continue
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
	}
	if n.Kind == yaml.DocumentNode {
		depth-- // the root mapping is depth 0
	}
	for _, c := range n.Content {
		tidy(c, depth+1)
	}
}

// needsQuotes reports whether a string scalar would read back as another type
// or mislead a reader without quotes ("0", "true", "$(…)/4").
func needsQuotes(s string) bool {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return true
	}
	_, isString := v.(string)
	return !isString || v != s || strings.ContainsAny(s, "$")
}

// DecodeJobs reads Jobs from YAML documents strictly: an unknown field, a
// document that is not a batch/v1 Job, or a value of the wrong type is an
// error. It is the check that WriteYAML's output is what the API server takes.
func DecodeJobs(r io.Reader) ([]*batchv1.Job, error) {
	dec := yaml.NewDecoder(r)
	var out []*batchv1.Job
	for n := 1; ; n++ {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		data, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		jd := json.NewDecoder(bytes.NewReader(data))
		jd.DisallowUnknownFields()
		var job batchv1.Job
		if err := jd.Decode(&job); err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if job.APIVersion != "batch/v1" || job.Kind != "Job" {
			return nil, fmt.Errorf("document %d: %s %s, want batch/v1 Job", n, job.APIVersion, job.Kind)
		}
		out = append(out, &job)
	}
}
