package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"golang.org/x/sync/errgroup"

	"github.com/pitrguard/pitrguard/internal/testaws"
)

// Estate is the benchmark organization's shape.
type Estate struct {
	Members        int      `json:"members"`          // accounts of the 3,400-table estate
	PerRegion      int      `json:"per_region"`       // tables per member account-region
	Hot            int      `json:"hot"`              // tables in the management account's first region
	ExtraMembers   int      `json:"extra_members"`    // more accounts for the ~10,000-table run
	ExtraPerRegion int      `json:"extra_per_region"` // tables per extra account-region
	Regions        []string `json:"regions"`
}

// Tables is the size of the main estate.
func (e Estate) Tables() int { return e.Members*len(e.Regions)*e.PerRegion + e.Hot }

// AllTables is the size of the whole organization.
func (e Estate) AllTables() int { return e.Tables() + e.ExtraMembers*len(e.Regions)*e.ExtraPerRegion }

// Seeded is what the cache remembers about a seeded emulator.
type Seeded struct {
	URL     string   `json:"url"`
	Pid     int      `json:"pid"`
	Estate  Estate   `json:"estate"`
	Members []string `json:"members"`
	Extra   []string `json:"extra"`
}

// tableSpec gives table i of an account-region a realistic mix of tags,
// PITR states and windows.
func tableSpec(prefix string, i int) testaws.TableSpec {
	envs := []string{"prod", "prod", "staging", "dev"}
	s := testaws.TableSpec{Name: fmt.Sprintf("%s-%04d", prefix, i),
		Tags: map[string]string{"env": envs[i%len(envs)], "owner": fmt.Sprintf("team-%d", i%7)}}
	switch i % 10 {
	case 0, 1, 2: // off
	case 3:
		s.PITR, s.RecoveryDays = true, 7
	case 4:
		s.PITR, s.RecoveryDays = true, 14
	default:
		s.PITR, s.RecoveryDays = true, 35
	}
	if i%13 == 0 {
		s.Tags = nil // untagged: absent from the tagging API, as in AWS
	}
	return s
}

func seed(ctx context.Context, url string, e Estate) (members, extra []string, err error) {
	s := testaws.NewSeeder(url)
	ids, err := s.CreateOrg(ctx, e.Members+e.ExtraMembers)
	if err != nil {
		return nil, nil, err
	}
	members, extra = ids[:e.Members], ids[e.Members:]
	type job struct {
		account, region string
		n               int
	}
	jobs := []job{{testaws.ManagementAccount, e.Regions[0], e.Hot}}
	for _, a := range members {
		for _, r := range e.Regions {
			jobs = append(jobs, job{a, r, e.PerRegion})
		}
	}
	for _, a := range extra {
		for _, r := range e.Regions {
			jobs = append(jobs, job{a, r, e.ExtraPerRegion})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, j := range jobs {
		g.Go(func() error {
			specs := make([]testaws.TableSpec, j.n)
			for i := range j.n {
				specs[i] = tableSpec("t", i)
			}
			return s.CreateTables(gctx, j.account, j.region, specs)
		})
	}
	return members, extra, g.Wait()
}

// warm calls the tagging API once in every account-region, directly against
// moto. moto builds each account-region's backends lazily on first use, which
// costs it far more than any call does later; AWS has no such first-call cost,
// so it is paid here, outside the measured runs.
func warm(ctx context.Context, url string, e Estate, accounts []string) error {
	s := testaws.NewSeeder(url)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, a := range append([]string{testaws.ManagementAccount}, accounts...) {
		for _, r := range e.Regions {
			g.Go(func() error {
				_, err := resourcegroupstaggingapi.NewFromConfig(s.Config(gctx, a, r)).GetResources(gctx,
					&resourcegroupstaggingapi.GetResourcesInput{ResourceTypeFilters: []string{"dynamodb:table"}})
				return err
			})
		}
	}
	return g.Wait()
}

// reuse returns the cached emulator if it still answers with the same estate.
func reuse(ctx context.Context, cache string, e Estate) *Seeded {
	data, err := os.ReadFile(cache)
	if err != nil {
		return nil
	}
	var sd Seeded
	if json.Unmarshal(data, &sd) != nil || fmt.Sprint(sd.Estate) != fmt.Sprint(e) {
		return nil
	}
	resp, err := http.Get(sd.URL + "/moto-api/")
	if err != nil {
		return nil
	}
	resp.Body.Close()
	cfg := testaws.NewSeeder(sd.URL).Config(ctx, testaws.ManagementAccount, "us-east-1")
	n := 0
	pg := organizations.NewListAccountsPaginator(organizations.NewFromConfig(cfg), &organizations.ListAccountsInput{})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil
		}
		n += len(out.Accounts)
	}
	if n != 1+e.Members+e.ExtraMembers {
		return nil
	}
	return &sd
}

func saveCache(cache string, sd *Seeded) error {
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(sd, "", "  ")
	return os.WriteFile(cache, data, 0o644)
}
