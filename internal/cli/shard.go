package cli

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/rungroup"
)

// ShardOptions split one audit across processes (issue 14).
type ShardOptions struct {
	Shard    string // K/N
	Shards   int    // N, with K from the job's index
	RunGroup string

	// Resolved by resolve: K and N (0 when not sharded).
	K, N int
}

// Environment variables that carry a 0-based array index.
const (
	envK8sIndex   = "JOB_COMPLETION_INDEX"      // Kubernetes Indexed Job
	envBatchIndex = "AWS_BATCH_JOB_ARRAY_INDEX" // AWS Batch array job
	envBatchJobID = "AWS_BATCH_JOB_ID"          // PARENT:INDEX in an array child
)

func addShardFlags(cmd *cobra.Command, o *ShardOptions) {
	fl := cmd.Flags()
	fl.StringVar(&o.Shard, "shard", "", "audit only shard K of N (e.g. 2/4): accounts are split by a stable hash of the account id")
	fl.IntVar(&o.Shards, "shards", 0, "split into N shards and take K from "+envK8sIndex+" (Kubernetes Indexed Job) or "+envBatchIndex+" (AWS Batch array job), both 0-based")
	fl.StringVar(&o.RunGroup, "run-group", "", "id shared by the shards of one audit, so history and merge see them as one run (default on AWS Batch: the array job's id)")
	cmd.MarkFlagsMutuallyExclusive("shard", "shards")
}

var (
	shardRE    = regexp.MustCompile(`^(\d+)/(\d+)$`)
	runGroupRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
)

// resolve works out K/N and the run group from the flags and the job's
// environment; usage errors name the flag or variable at fault.
func (o *ShardOptions) resolve(getenv func(string) string) error {
	sharded, err := o.resolveKN(getenv)
	if err != nil || !sharded {
		return err
	}
	if err := o.checkKN(); err != nil {
		return err
	}
	return o.resolveRunGroup(getenv)
}

// resolveKN sets K and N from --shard or from --shards and the job index;
// sharded is false when neither flag is given.
func (o *ShardOptions) resolveKN(getenv func(string) string) (sharded bool, err error) {
	switch {
	case o.Shard != "":
		m := shardRE.FindStringSubmatch(strings.TrimSpace(o.Shard))
		if m == nil {
			return false, FlagErrorf("--shard %q: use K/N, e.g. --shard 2/4 (K from 1 to N)", o.Shard)
		}
		o.K, _ = strconv.Atoi(m[1])
		o.N, _ = strconv.Atoi(m[2])
		return true, nil
	case o.Shards != 0:
		return true, o.resolveJobShard(getenv)
	case o.RunGroup != "":
		return false, FlagErrorf("--run-group names the shards of one audit: add --shard K/N or --shards N")
	}
	return false, nil
}

// resolveJobShard sets N from --shards and K from the job's 0-based index.
func (o *ShardOptions) resolveJobShard(getenv func(string) string) error {
	if o.Shards < 1 {
		return FlagErrorf("--shards must be at least 1, got %d", o.Shards)
	}
	o.N = o.Shards
	idx, src, err := jobIndex(getenv)
	if err != nil {
		return err
	}
	if idx >= o.N {
		return FlagErrorf("%s=%d is outside --shards %d (0-based indexes 0 to %d): make the job's completions/array size equal --shards", src, idx, o.N, o.N-1)
	}
	o.K = idx + 1
	return nil
}

// checkKN bounds N by rungroup.MaxShards and K by N.
func (o *ShardOptions) checkKN() error {
	if o.N < 1 || o.N > rungroup.MaxShards {
		return FlagErrorf("--shard: N must be between 1 and %d, got %d", rungroup.MaxShards, o.N)
	}
	if o.K < 1 || o.K > o.N {
		return FlagErrorf("--shard %d/%d: K must be between 1 and %d", o.K, o.N, o.N)
	}
	return nil
}

// resolveRunGroup defaults the run group to the AWS Batch array job's id and
// checks its spelling.
func (o *ShardOptions) resolveRunGroup(getenv func(string) string) error {
	if o.RunGroup == "" {
		if id := getenv(envBatchJobID); id != "" {
			o.RunGroup, _, _ = strings.Cut(id, ":")
		}
	}
	if o.RunGroup != "" && !runGroupRE.MatchString(o.RunGroup) {
		return FlagErrorf("--run-group %q: use up to 128 letters, digits and . _ : - (starting with a letter or digit)", o.RunGroup)
	}
	return nil
}

// jobIndex reads the 0-based index of an Indexed Job or array job child.
func jobIndex(getenv func(string) string) (int, string, error) {
	var found []string
	idx := -1
	for _, name := range []string{envK8sIndex, envBatchIndex} {
		v := getenv(name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, name, FlagErrorf("%s=%q is not a 0-based index", name, v)
		}
		if idx >= 0 && n != idx {
			return 0, name, FlagErrorf("%s and %s disagree (%d vs %d); set one", envK8sIndex, envBatchIndex, idx, n)
		}
		idx = n
		found = append(found, name)
	}
	if idx < 0 {
		return 0, "", FlagErrorf("--shards takes the shard index from %s (Kubernetes Indexed Job) or %s (AWS Batch array job), and neither is set; elsewhere use --shard K/N", envK8sIndex, envBatchIndex)
	}
	return idx, found[0], nil
}

// apply restricts the audit's scope to this shard's accounts.
func (o *ShardOptions) apply(s *inventory.Scope) {
	if o.N > 1 {
		k, n := o.K, o.N
		s.AccountFilter = func(account string) bool { return rungroup.ShardOf(account, n) == k }
	}
}

// describe is "shard 2/4 of run group g1" for messages.
func (o *ShardOptions) describe() string {
	if o.N == 0 {
		return ""
	}
	s := fmt.Sprintf("shard %d/%d", o.K, o.N)
	if o.RunGroup != "" {
		s += " of run group " + o.RunGroup
	}
	return s
}
