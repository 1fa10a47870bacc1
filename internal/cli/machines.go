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
)

const machinesUsage = `usage:
  gatehouse machines create --name NAME [--scope MACHINE_ID]... [--ttl SECONDS]
  gatehouse machines list [--limit N]
  gatehouse machines delete MACHINE_ID

A machine is a service that authenticates with its secret key (shown once,
at creation) and exchanges it for short-lived M2M tokens:
  POST /v1/m2m_tokens with Authorization: Bearer <machine secret key>.
--scope names another machine its tokens may address (repeat the flag, or
separate ids with commas).`

// cmdMachines runs "gatehouse machines …".
func cmdMachines(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, machinesUsage)
		return errors.New("machines: a subcommand is required")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, machinesUsage)
		return nil
	case "create":
		return cmdMachinesCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return cmdMachinesList(ctx, args[1:], stdout, stderr)
	case "delete":
		return cmdMachinesDelete(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, machinesUsage)
	return fmt.Errorf("machines: unknown subcommand %q", args[0])
}

// idList is a repeatable flag of ids, also accepting comma-separated ones.
type idList []string

func (l *idList) String() string { return strings.Join(*l, ",") }

func (l *idList) Set(v string) error {
	for _, id := range strings.Split(v, ",") {
		if id = strings.TrimSpace(id); id != "" {
			*l = append(*l, id)
		}
	}
	return nil
}

func cmdMachinesCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("machines create", "Creates a machine and prints its secret key, once.", stderr)
	name := fs.String("name", "", "the machine's name (required)")
	var scopes idList
	fs.Var(&scopes, "scope", "a machine this one may request tokens for (repeatable)")
	ttl := fs.Int64("ttl", clerkclient.DefaultMachineTokenTTL, "the default lifetime of its M2M tokens, in seconds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("machines create: --name is required, and nothing else")
	}
	return withClient(ctx, func(c *clerkclient.Client) error {
		m, err := c.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: *name, ScopedMachines: scopes, DefaultTokenTTL: *ttl})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created machine %s (%s)\n", m.ID, m.Name)
		if len(m.ScopedMachines) > 0 {
			fmt.Fprintf(stdout, "scopes: %s\n", strings.Join(scopedIDs(m), ", "))
		}
		fmt.Fprintf(stdout, "secret key (shown once; store it now): %s\n", m.SecretKey)
		return nil
	})
}

func cmdMachinesList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("machines list", "Lists machines, newest first.", stderr)
	limit := fs.Int("limit", 100, "how many to list (1-500)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withClient(ctx, func(c *clerkclient.Client) error {
		list, err := c.Machines.List(ctx, clerkclient.MachineListParams{Limit: *limit})
		if err != nil {
			return err
		}
		if list.TotalCount == 0 {
			fmt.Fprintln(stdout, "no machines")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tTOKEN TTL\tSCOPES\tCREATED")
		for _, m := range list.Data {
			fmt.Fprintf(tw, "%s\t%s\t%ds\t%s\t%s\n", m.ID, m.Name, m.DefaultTokenTTL,
				strings.Join(scopedIDs(m), ","), time.UnixMilli(m.CreatedAt).UTC().Format(time.RFC3339))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if list.TotalCount > len(list.Data) {
			fmt.Fprintf(stdout, "(%d of %d)\n", len(list.Data), list.TotalCount)
		}
		return nil
	})
}

func cmdMachinesDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("machines delete", "Deletes a machine; its M2M tokens stop working at once.\nUsage: gatehouse machines delete MACHINE_ID", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("machines delete: give exactly one machine id")
	}
	return withClient(ctx, func(c *clerkclient.Client) error {
		if _, err := c.Machines.Delete(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted machine %s\n", fs.Arg(0))
		return nil
	})
}

func scopedIDs(m *clerkclient.Machine) []string {
	ids := make([]string, len(m.ScopedMachines))
	for i, s := range m.ScopedMachines {
		ids[i] = s.ID
	}
	return ids
}
