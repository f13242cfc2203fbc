package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	miniogo "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/minio"
	bs3 "github.com/byobfs/byob/providers/s3"
)

// benchResults collects ns/op per row so the parent benchmark can print
// each backend's ratio against the raw SDK call measured in the same run.
type benchResults struct {
	mu   sync.Mutex
	rows map[string]time.Duration
}

func (r *benchResults) record(name string, b *testing.B) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows[name] = b.Elapsed() / time.Duration(b.N)
}

// BenchmarkBackends: each backend's Put and Get of 1 MiB and 64 MiB objects
// on MinIO, against the raw SDK call (minio-go PutObject/GetObject for the
// minio backend, aws-sdk-go-v2 PutObject/GetObject for the s3 backend), with
// the same checksum settings (none) on both sides.
func BenchmarkBackends(b *testing.B) {
	s := testenv.MinIO(b)
	bucket := s.NewBucket(b)
	ctx := context.Background()
	res := &benchResults{rows: map[string]time.Duration{}}

	a, err := providers.ParseAddress(s.Address(bucket))
	if err != nil {
		b.Fatal(err)
	}
	mst, _, err := minio.Opener(ctx, a)
	if err != nil {
		b.Fatal(err)
	}
	a.SDK = "aws"
	ast, _, err := bs3.Opener(ctx, a)
	if err != nil {
		b.Fatal(err)
	}
	rawMinio, err := miniogo.New(s.Endpoint, &miniogo.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region, MaxRetries: 1})
	if err != nil {
		b.Fatal(err)
	}
	rawAWS := awss3.New(awss3.Options{
		Region: s.Region, BaseEndpoint: aws.String(s.URL), UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}, nil
		}),
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})

	for _, size := range []int{1 << 20, 64 << 20} {
		data := make([]byte, size)
		rand.Read(data)
		label := fmt.Sprintf("%dMiB", size>>20)
		key := "bench/" + label
		put := map[string]func() error{
			"raw-minio": func() error {
				_, err := rawMinio.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(size), miniogo.PutObjectOptions{DisableContentSha256: true, DisableMultipart: true})
				return err
			},
			"byob-minio": func() error {
				_, err := mst.Put(ctx, key, bytes.NewReader(data), int64(size), providers.PutOptions{})
				return err
			},
			"raw-aws": func() error {
				_, err := rawAWS.PutObject(ctx, &awss3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(size))})
				return err
			},
			"byob-s3": func() error {
				_, err := ast.Put(ctx, key, bytes.NewReader(data), int64(size), providers.PutOptions{})
				return err
			},
		}
		get := map[string]func() error{
			"raw-minio": func() error {
				o, err := rawMinio.GetObject(ctx, bucket, key, miniogo.GetObjectOptions{})
				if err != nil {
					return err
				}
				defer o.Close()
				return drain(o, size)
			},
			"byob-minio": func() error {
				rc, _, err := mst.Get(ctx, key, 0, -1, providers.GetOptions{})
				if err != nil {
					return err
				}
				defer rc.Close()
				return drain(rc, size)
			},
			"raw-aws": func() error {
				o, err := rawAWS.GetObject(ctx, &awss3.GetObjectInput{Bucket: &bucket, Key: &key})
				if err != nil {
					return err
				}
				defer o.Body.Close()
				return drain(o.Body, size)
			},
			"byob-s3": func() error {
				rc, _, err := ast.Get(ctx, key, 0, -1, providers.GetOptions{})
				if err != nil {
					return err
				}
				defer rc.Close()
				return drain(rc, size)
			},
		}
		for _, op := range []struct {
			name string
			fns  map[string]func() error
		}{{"Put", put}, {"Get", get}} {
			// Interleave raw and byob rows so drift on a noisy machine hits both.
			for _, impl := range []string{"raw-minio", "byob-minio", "raw-aws", "byob-s3"} {
				name := op.name + "/" + label + "/" + impl
				fn := op.fns[impl]
				b.Run(name, func(b *testing.B) {
					b.SetBytes(int64(size))
					for i := 0; i < b.N; i++ {
						if err := fn(); err != nil {
							b.Fatal(err)
						}
					}
					res.record(name, b)
				})
			}
		}
	}
	printRatios(res)
}

func drain(r io.Reader, want int) error {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	if n != int64(want) {
		return fmt.Errorf("read %d bytes, want %d", n, want)
	}
	return nil
}

func printRatios(res *benchResults) {
	names := make([]string, 0, len(res.rows))
	for n := range res.rows {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	sb.WriteString("\nbyob backend vs raw SDK, same run (ratio = raw time / byob time; >= 1.0 means byob is as fast):\n")
	for _, n := range names {
		if !strings.Contains(n, "/byob-") {
			continue
		}
		raw := strings.Replace(strings.Replace(n, "/byob-minio", "/raw-minio", 1), "/byob-s3", "/raw-aws", 1)
		bt, rt := res.rows[n], res.rows[raw]
		if bt == 0 || rt == 0 {
			continue
		}
		fmt.Fprintf(&sb, "  %-22s byob %10v  raw %10v  ratio %.2f\n", n, bt.Round(time.Microsecond), rt.Round(time.Microsecond), float64(rt)/float64(bt))
	}
	fmt.Fprint(os.Stdout, sb.String())
}
