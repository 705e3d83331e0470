package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

// The floors: the least each job takes, written the plain way.

// floorContact is the documented contact, for the decode floor.
type floorContact struct {
	ID           json.RawMessage `json:"id"` // a number or a string
	Email        string          `json:"email"`
	FirstName    string          `json:"firstName"`
	LastName     string          `json:"lastName"`
	FullName     string          `json:"fullName"`
	JobTitle     string          `json:"jobTitle"`
	CompanyName  string          `json:"companyName"`
	PhoneNumbers json.RawMessage `json:"phoneNumbers"`
	FacebookURL  string          `json:"facebookUrl"`
	InstagramURL string          `json:"instagramUrl"`
	LinkedinURL  string          `json:"linkedinUrl"`
	TwitterURL   string          `json:"twitterUrl"`
	Note         string          `json:"note"`
	Photo        string          `json:"photo"`
	LeadStatus   struct {
		ID    json.RawMessage `json:"id"`
		Label string          `json:"label"`
		Color string          `json:"color"`
	} `json:"leadStatus"`
	LastActivityAt string `json:"lastActivityAt"`
	CreatedAt      string `json:"createdAt"`
}

// decodeFloor fetches the contact list and stream-decodes it into structs,
// returning the body's size.
func decodeFloor(ctx context.Context, url string) (measurement, int64, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/connect/contacts", nil)
	if err != nil {
		return measurement{}, 0, err
	}
	req.Header.Set("X-Api-Key", fakeconnect.DefaultAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return measurement{}, 0, err
	}
	defer resp.Body.Close()
	counted := &countingReader{r: resp.Body}
	dec := json.NewDecoder(bufio.NewReaderSize(counted, 256<<10))
	if _, err := dec.Token(); err != nil {
		return measurement{}, 0, err
	}
	for dec.More() {
		var c floorContact
		if err := dec.Decode(&c); err != nil {
			return measurement{}, 0, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return measurement{}, 0, err
	}
	return measurement{wall: time.Since(start)}, counted.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// writeFloor writes each content to its own file in dir the way a crash-safe
// writer must (temporary file, fsync, rename), then fsyncs the folder once.
func writeFloor(dir string, contents [][]byte) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	start := time.Now()
	for i, data := range contents {
		f, err := os.CreateTemp(dir, ".tmp-")
		if err != nil {
			return 0, err
		}
		if _, err := f.Write(data); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		if err := f.Close(); err != nil {
			return 0, err
		}
		if err := os.Rename(f.Name(), filepath.Join(dir, fmt.Sprintf("%d.vcf", i))); err != nil {
			return 0, err
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	err = d.Sync()
	return time.Since(start), err
}

// readFiles returns the contents of every file in dir.
func readFiles(dir string) ([][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	contents := make([][]byte, 0, len(entries))
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		contents = append(contents, data)
	}
	return contents, nil
}

// postFloor posts every body to url from the given number of workers with a
// plain keep-alive client, and returns the rate in requests per second.
func postFloor(ctx context.Context, url string, bodies [][]byte, workers int) (float64, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	next := make(chan []byte)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				if err := post(ctx, client, url, body); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
	return float64(len(bodies)) / time.Since(start).Seconds(), firstErr
}

func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
