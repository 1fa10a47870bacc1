package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/webhook"
)

const webhooksUsage = `usage:
  gatehouse webhooks add URL [--events TYPE,…] [--description TEXT]
  gatehouse webhooks list
  gatehouse webhooks rm ENDPOINT_ID
  gatehouse webhooks test ENDPOINT_ID
  gatehouse webhooks messages [--endpoint ENDPOINT_ID] [--status pending|succeeded|failed] [--limit N]
  gatehouse webhooks retry MESSAGE_ID

An endpoint receives Clerk's webhook events, signed with its whsec_ secret
(printed once, by add) as Svix signs them. Without --events it receives
every type; the types are:
  ` + "%s" + `
The server delivers: test and retry queue a message for it.`

// cmdWebhooks runs "gatehouse webhooks …".
func cmdWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	help := fmt.Sprintf(webhooksUsage, strings.Join(webhook.EventTypes, ", "))
	if len(args) == 0 {
		fmt.Fprintln(stderr, help)
		return errors.New("webhooks: a subcommand is required")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, help)
		return nil
	case "add":
		return cmdWebhooksAdd(ctx, args[1:], stdout, stderr)
	case "list":
		return withClient(ctx, func(c *clerkclient.Client) error {
			list, err := c.Webhooks.ListEndpoints(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tURL\tEVENTS\tSTATE\tCREATED")
			for _, e := range list {
				events, state := "all", "enabled"
				if len(e.Events) > 0 {
					events = strings.Join(e.Events, ",")
				}
				if e.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.ID, e.URL, events, state, time.UnixMilli(e.CreatedAt).UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		})
	case "rm", "test", "retry":
		if len(args) != 2 {
			fmt.Fprintln(stderr, help)
			return fmt.Errorf("webhooks %s: one id is required", args[0])
		}
		return withClient(ctx, func(c *clerkclient.Client) error {
			switch args[0] {
			case "rm":
				if err := c.Webhooks.DeleteEndpoint(ctx, args[1]); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "deleted endpoint %s\n", args[1])
			case "test":
				m, err := c.Webhooks.SendTest(ctx, args[1])
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "queued test message %s; the server delivers it within a second\n", m.ID)
			case "retry":
				if err := c.Webhooks.RetryMessage(ctx, args[1]); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "message %s is due again\n", args[1])
			}
			return nil
		})
	case "messages":
		return cmdWebhooksMessages(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, help)
	return fmt.Errorf("webhooks: unknown subcommand %q", args[0])
}

func cmdWebhooksAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("webhooks add", "Adds a webhook endpoint and prints its signing secret, once.", stderr)
	var events idList
	fs.Var(&events, "events", "event types to send (comma-separated or repeated; default: all)")
	desc := fs.String("description", "", "what the endpoint is for")
	// The URL comes first; flags may follow it.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs.Usage()
		return errors.New("webhooks add: the URL is required")
	}
	url := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errors.New("webhooks add: one URL only")
	}
	return withClient(ctx, func(c *clerkclient.Client) error {
		e, err := c.Webhooks.CreateEndpoint(ctx, clerkclient.CreateWebhookEndpointParams{URL: url, Events: events, Description: *desc})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created endpoint %s for %s\n", e.ID, e.URL)
		fmt.Fprintf(stdout, "signing secret (shown once; verify with auth.VerifyWebhook or svix): %s\n", e.Secret)
		return nil
	})
}

func cmdWebhooksMessages(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("webhooks messages", "Lists webhook messages, newest first, with their delivery state.", stderr)
	endpoint := fs.String("endpoint", "", "only this endpoint's")
	status := fs.String("status", "", "only pending, succeeded or failed ones")
	limit := fs.Int("limit", 20, "how many")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withClient(ctx, func(c *clerkclient.Client) error {
		list, total, err := c.Webhooks.ListMessages(ctx, clerkclient.WebhookMessageListParams{EndpointID: *endpoint, Status: *status, Limit: *limit})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tENDPOINT\tTYPE\tSTATUS\tATTEMPTS\tLAST\tCREATED")
		for _, m := range list {
			last := "-"
			if m.Attempts > 0 {
				last = fmt.Sprint(m.LastStatus)
				if m.LastError != "" {
					last += " " + m.LastError
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.EndpointID, m.EventType, m.Status, m.Attempts, last,
				time.UnixMilli(m.CreatedAt).UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(tw, "%d of %d\n", len(list), total)
		return tw.Flush()
	})
}
