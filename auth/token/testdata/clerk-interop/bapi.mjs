// Drives Gatehouse's HTTP Backend API with Clerk's own @clerk/backend, as
// an app would: a stateful scenario over users, organizations, sessions,
// JWT templates and M2M tokens, and the errors the SDK must see. Every
// step records whether it did what Clerk's SDK promises; any exception
// the SDK throws fails the step (unless the step expects that error).
//
// Input (stdin, JSON):
//   { apiUrl, secretKey, badSecretKey, run, usersBefore, templateName,
//     bcrypt: { password, digest }, session: { id, userId },
//     machines: { issuerId, issuerSecretKey, audienceId, audienceSecretKey } }
// Output (stdout, JSON): { steps: [{ name, ok, error, value }] }, in order.
import { createClerkClient, verifyToken } from '@clerk/backend';

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

// describe renders an SDK error with what the Go side reports.
function describe(err) {
  if (!err) return null;
  if (Array.isArray(err.errors) && 'status' in err) {
    const codes = err.errors.map((e) => `${e.code}: ${e.message}${e.longMessage ? ` (${e.longMessage})` : ''}`).join('; ');
    return `ClerkAPIResponseError status ${err.status} [${codes}] trace ${JSON.stringify(err.clerkTraceId ?? null)}`;
  }
  return `${err.reason ?? err.code ?? err.name ?? 'error'}: ${err.message}`;
}

// kind is the SDK class an answer was mapped to (Clerk's build names its
// classes _User, _Session, …); "string" means the SDK did not parse the
// JSON (a Content-Type other than exactly application/json).
function kind(v) {
  if (v === null || v === undefined) return String(v);
  if (typeof v !== 'object') return typeof v;
  return (v.constructor?.name ?? 'Object').replace(/^_/, '');
}

class CheckError extends Error {}

function check(cond, msg) {
  if (!cond) throw new CheckError(msg);
}

function expectKind(v, want, what) {
  check(kind(v) === want, `${what}: got ${kind(v)} ${JSON.stringify(v)?.slice(0, 300)}, want an SDK ${want}`);
}

function same(a, b) {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

// expectAPIError runs fn, which must throw a ClerkAPIResponseError with
// the status (and code, when given).
async function expectAPIError(fn, status, code) {
  let res;
  try {
    res = await fn();
  } catch (err) {
    check(Array.isArray(err.errors) && 'status' in err, `got ${describe(err)}, want a ClerkAPIResponseError ${status}`);
    check(err.status === status, `got ${describe(err)}, want status ${status}`);
    check(err.errors.length > 0, `got ${describe(err)} with no errors[], want Clerk's error envelope`);
    if (code) check(err.errors[0].code === code, `got ${describe(err)}, want code ${code}`);
    check(typeof err.clerkTraceId === 'string' && err.clerkTraceId !== '', `got ${describe(err)}, want a clerk_trace_id`);
    return { status: err.status, code: err.errors[0].code, message: err.errors[0].message, traceId: err.clerkTraceId };
  }
  throw new CheckError(`got success ${kind(res)} ${JSON.stringify(res)?.slice(0, 300)}, want a ClerkAPIResponseError ${status} ${code ?? ''}`);
}

// expectRefused runs fn, which must throw a 4xx ClerkAPIResponseError
// with a code (Clerk's exact status for the case is not pinned).
async function expectRefused(fn) {
  let res;
  try {
    res = await fn();
  } catch (err) {
    check(Array.isArray(err.errors) && err.status >= 400 && err.status < 500 && err.errors[0]?.code,
      `got ${describe(err)}, want a 4xx ClerkAPIResponseError with a code`);
    return { status: err.status, code: err.errors[0].code };
  }
  throw new CheckError(`got success ${kind(res)} ${JSON.stringify(raw(res))?.slice(0, 300)}, want a refusal`);
}

const steps = [];

async function step(name, fn) {
  const s = { name, ok: false, error: null, value: null };
  try {
    const v = await fn();
    s.ok = true;
    s.value = v === undefined ? null : JSON.parse(JSON.stringify(v));
  } catch (err) {
    s.error = describe(err);
    if (!(err instanceof CheckError) && err?.stack && !('status' in err)) s.error += `\n${err.stack}`;
  }
  steps.push(s);
  return s.ok;
}

// raw is the JSON the SDK mapped (resources keep it in .raw).
const raw = (v) => v?.raw ?? v;

async function users(clerk, input, st) {
  const email = `nina.${input.run}@example.com`;
  const password = 'node sdk passphrase 42';
  st.userEmail = email;

  await step('users.createUser', async () => {
    const u = await clerk.users.createUser({ emailAddress: [email], password, firstName: 'Nina', lastName: 'Node',
      publicMetadata: { a: 'created', nested: { x: 1 } } });
    expectKind(u, 'User', 'createUser');
    check(u.id?.startsWith('user_'), `id: got ${u.id}, want user_…`);
    check(u.firstName === 'Nina' && u.lastName === 'Node', `names: got ${u.firstName} ${u.lastName}, want Nina Node`);
    check(same(u.publicMetadata, { a: 'created', nested: { x: 1 } }), `publicMetadata: got ${JSON.stringify(u.publicMetadata)}`);
    check(u.primaryEmailAddress?.emailAddress === email, `primaryEmailAddress: got ${JSON.stringify(u.primaryEmailAddress)}, want ${email}`);
    check(u.emailAddresses.length === 1 && kind(u.emailAddresses[0]) === 'EmailAddress', `emailAddresses: got ${JSON.stringify(u.emailAddresses)}`);
    check(u.passwordEnabled === true && u.banned === false && u.locked === false, `flags: got passwordEnabled ${u.passwordEnabled} banned ${u.banned} locked ${u.locked}`);
    check(Number.isInteger(u.createdAt) && u.createdAt > 1e12, `createdAt: got ${u.createdAt}, want Unix milliseconds`);
    st.userId = u.id;
    return raw(u);
  });

  await step('users.getUser', async () => {
    const u = await clerk.users.getUser(st.userId);
    expectKind(u, 'User', 'getUser');
    check(u.id === st.userId && u.primaryEmailAddress?.emailAddress === email, `got ${u.id} ${u.primaryEmailAddress?.emailAddress}, want ${st.userId} ${email}`);
    return raw(u);
  });

  await step('users.updateUser firstName', async () => {
    const u = await clerk.users.updateUser(st.userId, { firstName: 'Nora' });
    expectKind(u, 'User', 'updateUser');
    check(u.firstName === 'Nora' && u.lastName === 'Node', `names: got ${u.firstName} ${u.lastName}, want Nora Node`);
    return { firstName: u.firstName, lastName: u.lastName };
  });

  const merges = [
    [{ a: 1 }, { a: 1, nested: { x: 1 } }],
    [{ b: 2, nested: { y: 2 } }, { a: 1, b: 2, nested: { x: 1, y: 2 } }],
    [{ a: null, nested: null }, { b: 2 }],
  ];
  for (const [patch, want] of merges) {
    await step(`users.updateUserMetadata merge ${JSON.stringify(patch)}`, async () => {
      const u = await clerk.users.updateUserMetadata(st.userId, { publicMetadata: patch });
      expectKind(u, 'User', 'updateUserMetadata');
      check(same(u.publicMetadata, want), `publicMetadata: got ${JSON.stringify(u.publicMetadata)}, want ${JSON.stringify(want)}`);
      return u.publicMetadata;
    });
  }

  await step('users.updateUserMetadata privateMetadata', async () => {
    const u = await clerk.users.updateUserMetadata(st.userId, { privateMetadata: { secret: 's' } });
    check(same(u.privateMetadata, { secret: 's' }) && same(u.publicMetadata, { b: 2 }),
      `got private ${JSON.stringify(u.privateMetadata)} public ${JSON.stringify(u.publicMetadata)}, want {secret:"s"} and {b:2}`);
    return { privateMetadata: u.privateMetadata };
  });

  await step('users.getUserList by emailAddress', async () => {
    const list = await clerk.users.getUserList({ emailAddress: [email, `nobody.${input.run}@example.com`] });
    check(Array.isArray(list.data), `data: got ${JSON.stringify(list)?.slice(0, 300)}, want an array`);
    check(list.data.length === 1 && kind(list.data[0]) === 'User' && list.data[0].id === st.userId,
      `data: got ${list.data.map((u) => `${kind(u)} ${u.id}`)}, want the one user ${st.userId}`);
    check(list.totalCount === 1, `totalCount: got ${list.totalCount}, want 1`);
    return { ids: list.data.map((u) => u.id), totalCount: list.totalCount };
  });

  await step('users.getUserList by userId', async () => {
    const list = await clerk.users.getUserList({ userId: [st.userId] });
    check(list.data.length === 1 && list.data[0].id === st.userId, `data: got ${list.data.map((u) => u.id)}, want [${st.userId}]`);
    check(list.totalCount === 1, `totalCount: got ${list.totalCount}, want 1 (GET /users/count with the same user_id filter)`);
    return { ids: list.data.map((u) => u.id), totalCount: list.totalCount };
  });

  await step('users.getUserList newest first with limit', async () => {
    const list = await clerk.users.getUserList({ limit: 2 });
    check(list.data.length === 2, `data: got ${list.data.length} users, want 2 (limit 2)`);
    check(list.data[0].id === st.userId, `first user: got ${list.data[0].id}, want the newest ${st.userId}`);
    check(list.data[0].createdAt >= list.data[1].createdAt, `order: got createdAt ${list.data.map((u) => u.createdAt)}, want newest first`);
    check(list.totalCount === input.usersBefore + 1, `totalCount: got ${list.totalCount}, want every user (${input.usersBefore + 1}), not the page size`);
    return { ids: list.data.map((u) => u.id), totalCount: list.totalCount };
  });

  await step('users.getUserList orderBy +created_at', async () => {
    const list = await clerk.users.getUserList({ orderBy: '+created_at', limit: 1 });
    check(list.data.length === 1 && list.data[0].id === input.session.userId,
      `first user: got ${list.data.map((u) => u.id)}, want the oldest ${input.session.userId} (order_by=+created_at)`);
    return { ids: list.data.map((u) => u.id) };
  });

  await step('users.getCount', async () => {
    const n = await clerk.users.getCount({ emailAddress: [email] });
    check(n === 1, `got ${JSON.stringify(n)}, want 1`);
    return n;
  });

  await step('users.createUser with a taken address is 422 form_identifier_exists', () =>
    expectAPIError(() => clerk.users.createUser({ emailAddress: [email], password: 'another node passphrase' }), 422, 'form_identifier_exists'));

  await step('users.verifyPassword', async () => {
    const v = await clerk.users.verifyPassword({ userId: st.userId, password });
    check(v?.verified === true, `got ${JSON.stringify(v)}, want {verified: true}`);
    return v;
  });

  await step('users.banUser', async () => {
    const u = await clerk.users.banUser(st.userId);
    expectKind(u, 'User', 'banUser');
    check(u.banned === true, `banned: got ${u.banned}, want true`);
    return { banned: u.banned };
  });

  await step('users.unbanUser', async () => {
    const u = await clerk.users.unbanUser(st.userId);
    expectKind(u, 'User', 'unbanUser');
    check(u.banned === false, `banned: got ${u.banned}, want false`);
    return { banned: u.banned };
  });

  await step('users.lockUser', async () => {
    const u = await clerk.users.lockUser(st.userId);
    check(kind(u) === 'User' && u.locked === true, `got ${kind(u)} locked ${u?.locked}, want a locked User`);
    return { locked: u.locked };
  });

  await step('users.unlockUser', async () => {
    const u = await clerk.users.unlockUser(st.userId);
    check(kind(u) === 'User' && u.locked === false, `got ${kind(u)} locked ${u?.locked}, want an unlocked User`);
    return { locked: u.locked };
  });

  // An external id is kept, listed by and unique; a bcrypt digest from
  // another system is a password that verifies.
  await step('users.createUser with externalId', async () => {
    const u = await clerk.users.createUser({ emailAddress: [`ext.${input.run}@example.com`], password: 'external id passphrase', externalId: `ext-${input.run}` });
    expectKind(u, 'User', 'createUser');
    check(u.externalId === `ext-${input.run}`, `externalId: got ${u.externalId}, want ext-${input.run}`);
    st.externalUserId = u.id;
    return { externalId: u.externalId };
  });

  await step('users.getUserList by externalId', async () => {
    const list = await clerk.users.getUserList({ externalId: [`ext-${input.run}`] });
    check(list.totalCount === 1 && list.data.length === 1 && list.data[0].id === st.externalUserId,
      `users with external id ext-${input.run}: got ${list.totalCount} (${list.data.map((u) => u.id)}), want ${st.externalUserId}`);
    return { totalCount: list.totalCount };
  });

  await step('users.createUser with a taken externalId is 422, nothing created', async () => {
    const address = `ext2.${input.run}@example.com`;
    await expectAPIError(() => clerk.users.createUser({ emailAddress: [address], password: 'external id passphrase', externalId: `ext-${input.run}` }), 422, 'form_identifier_exists');
    const list = await clerk.users.getUserList({ emailAddress: [address] });
    check(list.totalCount === 0, `users with ${address}: got ${list.totalCount}, want none`);
    return { refused: true };
  });

  await step('users.updateUser externalId', async () => {
    const u = await clerk.users.updateUser(st.externalUserId, { externalId: `ext-moved-${input.run}` });
    check(u.externalId === `ext-moved-${input.run}`, `externalId: got ${u.externalId}, want ext-moved-${input.run}`);
    const old = await clerk.users.getUserList({ externalId: [`ext-${input.run}`] });
    check(old.totalCount === 0, `users with the old external id: got ${old.totalCount}, want none`);
    return { externalId: u.externalId };
  });

  await step('users.createUser with a bcrypt passwordDigest verifies its password', async () => {
    const u = await clerk.users.createUser({ emailAddress: [`digest.${input.run}@example.com`], passwordDigest: input.bcrypt.digest, passwordHasher: 'bcrypt' });
    expectKind(u, 'User', 'createUser');
    check(u.passwordEnabled === true, `passwordEnabled: got ${u.passwordEnabled}, want true`);
    const v = await clerk.users.verifyPassword({ userId: u.id, password: input.bcrypt.password });
    check(v.verified === true, `verifyPassword with the digest's password: got ${JSON.stringify(v)}, want verified`);
    await expectAPIError(() => clerk.users.verifyPassword({ userId: u.id, password: 'not the imported passphrase' }), 422, 'incorrect_password');
    return { verified: v.verified };
  });

  await step('users.createUser with an unknown passwordHasher is 422, nothing created', async () => {
    const address = `digest2.${input.run}@example.com`;
    await expectAPIError(() => clerk.users.createUser({ emailAddress: [address], passwordDigest: input.bcrypt.digest, passwordHasher: 'md5' }), 422, 'form_param_format_invalid');
    const list = await clerk.users.getUserList({ emailAddress: [address] });
    check(list.totalCount === 0, `users with ${address}: got ${list.totalCount}, want none`);
    return { refused: true };
  });

  await step('users.replaceUserMetadata (PUT /users/{id}/metadata)', async () => {
    const u = await clerk.users.replaceUserMetadata(st.userId, { publicMetadata: { replaced: true } });
    expectKind(u, 'User', 'replaceUserMetadata');
    check(same(u.publicMetadata, { replaced: true }), `publicMetadata: got ${JSON.stringify(u.publicMetadata)}, want exactly {replaced:true}`);
    check(same(u.privateMetadata, { secret: 's' }), `privateMetadata: got ${JSON.stringify(u.privateMetadata)}, want it untouched`);
    return u.publicMetadata;
  });

  await step('users.getUser unknown is 404 resource_not_found', () =>
    expectAPIError(() => clerk.users.getUser(`user_${'0'.repeat(27)}`), 404, 'resource_not_found'));
}

async function organizations(clerk, input, st) {
  const mk = async (name) => {
    const u = await clerk.users.createUser({ emailAddress: [`${name}.${input.run}@example.com`], password: `${name} passphrase for orgs`, firstName: name });
    return u.id;
  };
  await step('organizations: create the owner and a member', async () => {
    st.ownerId = await mk('olga');
    st.memberId = await mk('mark');
    return { ownerId: st.ownerId, memberId: st.memberId };
  });
  const slug = `node-sdk-${input.run}`;

  await step('organizations.createOrganization with createdBy', async () => {
    const o = await clerk.organizations.createOrganization({ name: 'Node SDK Org', slug, createdBy: st.ownerId,
      publicMetadata: { tier: 'free' }, privateMetadata: { crm: 1 } });
    expectKind(o, 'Organization', 'createOrganization');
    check(o.id?.startsWith('org_') && o.slug === slug && o.name === 'Node SDK Org', `got ${o.id} ${o.slug} ${o.name}`);
    check(o.createdBy === st.ownerId, `createdBy: got ${o.createdBy}, want ${st.ownerId}`);
    check(same(o.publicMetadata, { tier: 'free' }), `publicMetadata: got ${JSON.stringify(o.publicMetadata)}`);
    st.orgId = o.id;
    return raw(o);
  });

  await step('organizations.getOrganization by slug with includeMembersCount', async () => {
    const o = await clerk.organizations.getOrganization({ slug, includeMembersCount: true });
    expectKind(o, 'Organization', 'getOrganization');
    check(o.id === st.orgId, `id: got ${o.id}, want ${st.orgId}`);
    check(o.membersCount === 1, `membersCount: got ${o.membersCount}, want 1 (the creator)`);
    return raw(o);
  });

  await step('organizations.getOrganization by id', async () => {
    const o = await clerk.organizations.getOrganization({ organizationId: st.orgId });
    check(kind(o) === 'Organization' && o.slug === slug, `got ${kind(o)} ${o?.slug}, want the organization ${slug}`);
    return { id: o.id, membersCount: o.membersCount ?? null };
  });

  await step('organizations.getOrganizationList', async () => {
    const list = await clerk.organizations.getOrganizationList({ query: slug });
    check(Array.isArray(list.data) && list.data.some((o) => o.id === st.orgId), `data: got ${JSON.stringify(list)?.slice(0, 300)}, want the organization`);
    check(list.totalCount === 1, `totalCount: got ${list.totalCount}, want 1`);
    check(list.data.every((o) => kind(o) === 'Organization'), `data: got ${list.data.map(kind)}, want Organizations`);
    return { totalCount: list.totalCount };
  });

  await step('organizations.updateOrganization name', async () => {
    const o = await clerk.organizations.updateOrganization(st.orgId, { name: 'Node SDK Org Renamed' });
    check(kind(o) === 'Organization' && o.name === 'Node SDK Org Renamed', `got ${kind(o)} ${o?.name}`);
    return { name: o.name };
  });

  await step('organizations.updateOrganizationMetadata merge', async () => {
    const o = await clerk.organizations.updateOrganizationMetadata(st.orgId, { publicMetadata: { seats: 5 } });
    check(same(o.publicMetadata, { tier: 'free', seats: 5 }), `publicMetadata: got ${JSON.stringify(o.publicMetadata)}, want {tier, seats}`);
    return o.publicMetadata;
  });

  await step('organizations.createOrganizationMembership', async () => {
    const m = await clerk.organizations.createOrganizationMembership({ organizationId: st.orgId, userId: st.memberId, role: 'org:member' });
    expectKind(m, 'OrganizationMembership', 'createOrganizationMembership');
    check(m.role === 'org:member', `role: got ${m.role}, want org:member`);
    check(m.organization?.id === st.orgId && kind(m.organization) === 'Organization', `organization: got ${JSON.stringify(m.organization)?.slice(0, 200)}`);
    check(m.publicUserData?.userId === st.memberId, `publicUserData.userId: got ${m.publicUserData?.userId}, want ${st.memberId}`);
    return raw(m);
  });

  await step('organizations.createOrganizationMembership twice is refused', () =>
    expectRefused(() => clerk.organizations.createOrganizationMembership({ organizationId: st.orgId, userId: st.memberId, role: 'org:member' })));

  await step('organizations.getOrganizationMembershipList', async () => {
    const list = await clerk.organizations.getOrganizationMembershipList({ organizationId: st.orgId });
    check(list.totalCount === 2 && list.data.length === 2, `got ${list.data?.length} memberships, totalCount ${list.totalCount}, want 2`);
    check(list.data.every((m) => kind(m) === 'OrganizationMembership'), `data: got ${list.data.map(kind)}`);
    const roles = Object.fromEntries(list.data.map((m) => [m.publicUserData?.userId, m.role]));
    check(roles[st.ownerId] === 'org:admin' && roles[st.memberId] === 'org:member', `roles: got ${JSON.stringify(roles)}, want the owner admin and the member member`);
    return { totalCount: list.totalCount, roles };
  });

  await step('users.getUserList by organizationId', async () => {
    const list = await clerk.users.getUserList({ organizationId: [st.orgId] });
    const ids = list.data.map((u) => u.id).sort();
    check(same(ids, [st.ownerId, st.memberId].sort()) && list.totalCount === 2,
      `got ${ids} totalCount ${list.totalCount}, want the owner and the member and 2`);
    return { ids, totalCount: list.totalCount };
  });

  await step('users.getOrganizationMembershipList', async () => {
    const list = await clerk.users.getOrganizationMembershipList({ userId: st.memberId });
    check(list.totalCount === 1 && list.data[0]?.organization?.id === st.orgId, `got ${JSON.stringify(list)?.slice(0, 300)}, want the one membership of ${st.orgId}`);
    return { totalCount: list.totalCount };
  });

  await step('organizations.updateOrganizationMembership role', async () => {
    const m = await clerk.organizations.updateOrganizationMembership({ organizationId: st.orgId, userId: st.memberId, role: 'org:admin' });
    check(kind(m) === 'OrganizationMembership' && m.role === 'org:admin', `got ${kind(m)} ${m?.role}, want org:admin`);
    return { role: m.role };
  });

  await step('organizations.deleteOrganizationMembership of a second admin', async () => {
    const m = await clerk.organizations.deleteOrganizationMembership({ organizationId: st.orgId, userId: st.memberId });
    check(kind(m) === 'OrganizationMembership' && m.publicUserData?.userId === st.memberId, `got ${kind(m)} ${JSON.stringify(raw(m))?.slice(0, 300)}, want the deleted membership`);
    return { id: m.id };
  });

  await step('organizations.deleteOrganizationMembership of the last admin is refused', () =>
    expectRefused(() => clerk.organizations.deleteOrganizationMembership({ organizationId: st.orgId, userId: st.ownerId })));

  await step('organizations.getOrganization membersCount after the changes', async () => {
    const o = await clerk.organizations.getOrganization({ organizationId: st.orgId, includeMembersCount: true });
    check(o.membersCount === 1, `membersCount: got ${o.membersCount}, want 1 (the owner stays)`);
    return { membersCount: o.membersCount };
  });

  await step('organizations.createOrganizationInvitation', async () => {
    const inv = await clerk.organizations.createOrganizationInvitation({ organizationId: st.orgId,
      emailAddress: `ivy.${input.run}@example.com`, role: 'org:member', inviterUserId: st.ownerId });
    expectKind(inv, 'OrganizationInvitation', 'createOrganizationInvitation');
    check(inv.id?.startsWith('orginv_') && inv.status === 'pending', `got ${inv.id} ${inv.status}, want a pending orginv_…`);
    check(inv.emailAddress === `ivy.${input.run}@example.com` && inv.role === 'org:member', `got ${inv.emailAddress} ${inv.role}`);
    check(inv.organizationId === st.orgId, `organizationId: got ${inv.organizationId}, want ${st.orgId}`);
    st.invitationId = inv.id;
    return raw(inv);
  });

  await step('organizations.getOrganizationInvitationList', async () => {
    const list = await clerk.organizations.getOrganizationInvitationList({ organizationId: st.orgId, status: ['pending'] });
    check(list.totalCount === 1 && list.data[0]?.id === st.invitationId && kind(list.data[0]) === 'OrganizationInvitation',
      `got ${JSON.stringify(list)?.slice(0, 300)}, want the one pending invitation`);
    return { totalCount: list.totalCount };
  });

  await step('organizations.getOrganizationInvitation', async () => {
    const inv = await clerk.organizations.getOrganizationInvitation({ organizationId: st.orgId, invitationId: st.invitationId });
    check(kind(inv) === 'OrganizationInvitation' && inv.id === st.invitationId && inv.status === 'pending', `got ${kind(inv)} ${inv?.id} ${inv?.status}`);
    return { status: inv.status };
  });

  await step('users.getOrganizationInvitationList of the invited address', async () => {
    const ivy = await clerk.users.createUser({ emailAddress: [`ivy.${input.run}@example.com`], password: 'ivy passphrase for orgs' });
    const list = await clerk.users.getOrganizationInvitationList({ userId: ivy.id, status: 'pending' });
    check(list.totalCount === 1 && list.data[0]?.id === st.invitationId && kind(list.data[0]) === 'OrganizationInvitation',
      `got ${JSON.stringify(list)?.slice(0, 300)}, want the invitation to ivy's address`);
    await clerk.users.deleteUser(ivy.id);
    return { totalCount: list.totalCount };
  });

  await step('organizations.revokeOrganizationInvitation', async () => {
    const inv = await clerk.organizations.revokeOrganizationInvitation({ organizationId: st.orgId, invitationId: st.invitationId, requestingUserId: st.ownerId });
    check(kind(inv) === 'OrganizationInvitation' && inv.status === 'revoked', `got ${kind(inv)} ${inv?.status}, want revoked`);
    return { status: inv.status };
  });

  await step('organizations.deleteOrganization', async () => {
    const d = await clerk.organizations.deleteOrganization(st.orgId);
    check(kind(d) === 'DeletedObject' && d.deleted === true && d.id === st.orgId && d.object === 'organization',
      `got ${kind(d)} ${JSON.stringify(d)}, want a DeletedObject organization ${st.orgId}`);
    return d;
  });
}

async function sessions(clerk, input, st) {
  const { id: sid, userId } = input.session;

  await step('sessions.getSessionList by userId', async () => {
    const list = await clerk.sessions.getSessionList({ userId });
    check(Array.isArray(list.data) && typeof list.totalCount === 'number', `got ${JSON.stringify(list)?.slice(0, 300)}, want {data, totalCount}`);
    check(list.data.some((s) => s.id === sid) && list.data.every((s) => kind(s) === 'Session' && s.userId === userId),
      `data: got ${list.data.map((s) => `${kind(s)} ${s.id} ${s.userId}`)}, want Sessions of ${userId} with ${sid}`);
    check(list.totalCount === list.data.length, `totalCount: got ${list.totalCount}, want ${list.data.length}`);
    return { ids: list.data.map((s) => s.id), totalCount: list.totalCount };
  });

  await step('sessions.getSession', async () => {
    const s = await clerk.sessions.getSession(sid);
    expectKind(s, 'Session', 'getSession');
    check(s.id === sid && s.userId === userId && s.status === 'active', `got ${s.id} ${s.userId} ${s.status}, want ${sid} of ${userId}, active`);
    check(s.clientId?.startsWith('client_'), `clientId: got ${s.clientId}, want client_…`);
    return { id: s.id, status: s.status };
  });

  await step('sessions.getToken and verifyToken through /v1/jwks', async () => {
    const tok = await clerk.sessions.getToken(sid);
    expectKind(tok, 'Token', 'getToken');
    check(typeof tok.jwt === 'string' && tok.jwt.split('.').length === 3, `jwt: got ${JSON.stringify(tok.jwt)}`);
    let claims;
    try {
      const v = await verifyToken(tok.jwt, { secretKey: input.secretKey, apiUrl: input.apiUrl, skipJwksCache: true });
      if (v?.errors) throw v.errors[0];
      claims = v?.data ?? v;
    } catch (err) {
      throw new CheckError(`verifyToken: ${describe(err)}`);
    }
    check(claims.sub === userId && claims.sid === sid, `claims: got sub ${claims.sub} sid ${claims.sid}, want ${userId} ${sid}`);
    st.sessionJwt = tok.jwt;
    return { sub: claims.sub, sid: claims.sid, exp: claims.exp };
  });

  await step('sessions.getToken with a template (POST /sessions/{id}/tokens/{template})', async () => {
    const tok = await clerk.sessions.getToken(sid, input.templateName);
    expectKind(tok, 'Token', 'getToken(template)');
    return { jwt: typeof tok.jwt };
  });

  await step('sessions.createSession (POST /sessions)', async () => {
    const s = await clerk.sessions.createSession({ userId });
    expectKind(s, 'Session', 'createSession');
    check(s.userId === userId && s.status === 'active', `got ${s.userId} ${s.status}`);
    return { id: s.id };
  });

  await step('verifyToken with a bad secret key is secret-key-invalid', async () => {
    let v;
    try {
      v = await verifyToken(st.sessionJwt ?? 'x.y.z', { secretKey: input.badSecretKey, apiUrl: input.apiUrl, skipJwksCache: true });
    } catch (err) {
      check(err.reason === 'secret-key-invalid', `got ${describe(err)}, want reason secret-key-invalid`);
      return { reason: err.reason };
    }
    const e = v?.errors?.[0];
    check(e?.reason === 'secret-key-invalid', `got ${e ? describe(e) : JSON.stringify(v)}, want reason secret-key-invalid`);
    return { reason: e.reason };
  });

  await step('sessions.revokeSession', async () => {
    const s = await clerk.sessions.revokeSession(sid);
    expectKind(s, 'Session', 'revokeSession');
    check(s.status === 'revoked', `status: got ${s.status}, want revoked`);
    return { status: s.status };
  });

  await step('sessions.getToken of a revoked session is refused', () =>
    expectAPIError(() => clerk.sessions.getToken(sid), 404, 'resource_not_found'));
}

async function jwtTemplates(clerk, input, st) {
  const name = `node-sdk-${input.run}`;
  await step('jwtTemplates.create', async () => {
    const t = await clerk.jwtTemplates.create({ name, claims: { uid: '{{user.id}}', aud: 'node' }, lifetime: 120, allowedClockSkew: 7 });
    expectKind(t, 'JwtTemplate', 'create');
    check(t.id?.startsWith('jtmp_') && t.name === name, `got ${t.id} ${t.name}, want jtmp_… ${name}`);
    check(t.lifetime === 120 && t.allowedClockSkew === 7 && t.customSigningKey === false, `got lifetime ${t.lifetime} skew ${t.allowedClockSkew} custom ${t.customSigningKey}`);
    check(same(t.claims, { uid: '{{user.id}}', aud: 'node' }), `claims: got ${JSON.stringify(t.claims)}`);
    st.templateId = t.id;
    return t;
  });

  await step('jwtTemplates.list', async () => {
    const list = await clerk.jwtTemplates.list();
    check(Array.isArray(list.data) && typeof list.totalCount === 'number', `got ${JSON.stringify(list)?.slice(0, 300)}, want {data, totalCount}`);
    check(list.data.some((t) => t.id === st.templateId) && list.data.every((t) => kind(t) === 'JwtTemplate'), `data: got ${list.data.map((t) => `${kind(t)} ${t.id}`)}`);
    check(list.totalCount >= list.data.length, `totalCount ${list.totalCount} < ${list.data.length}`);
    return { totalCount: list.totalCount };
  });

  await step('jwtTemplates.get', async () => {
    const t = await clerk.jwtTemplates.get(st.templateId);
    check(kind(t) === 'JwtTemplate' && t.id === st.templateId && t.name === name, `got ${kind(t)} ${t?.id} ${t?.name}`);
    return { id: t.id };
  });

  await step('jwtTemplates.update', async () => {
    const t = await clerk.jwtTemplates.update({ templateId: st.templateId, name: `${name}-v2`, claims: { uid: '{{user.id}}' }, lifetime: 300 });
    check(kind(t) === 'JwtTemplate' && t.name === `${name}-v2` && t.lifetime === 300, `got ${kind(t)} ${t?.name} ${t?.lifetime}`);
    check(same(t.claims, { uid: '{{user.id}}' }), `claims: got ${JSON.stringify(t.claims)}`);
    return { name: t.name, lifetime: t.lifetime };
  });

  await step('jwtTemplates.delete', async () => {
    const d = await clerk.jwtTemplates.delete(st.templateId);
    check(kind(d) === 'DeletedObject' && d.deleted === true && d.id === st.templateId, `got ${kind(d)} ${JSON.stringify(d)}, want a DeletedObject`);
    return d;
  });

  await step('jwtTemplates.get deleted is 404', () => expectAPIError(() => clerk.jwtTemplates.get(st.templateId), 404, 'resource_not_found'));

  await step('jwks.getJwks', async () => {
    const j = await clerk.jwks.getJwks();
    check(Array.isArray(j?.keys) && j.keys.length > 0, `got ${JSON.stringify(j)?.slice(0, 300)}, want {keys: [...]}`);
    for (const k of j.keys) check(k.kty === 'RSA' && k.alg === 'RS256' && k.use === 'sig' && k.kid && k.n && k.e === 'AQAB', `key: got ${JSON.stringify(k)}`);
    return { kids: j.keys.map((k) => k.kid) };
  });
}

async function m2m(input, st) {
  const m = input.machines;
  const issuer = createClerkClient({ machineSecretKey: m.issuerSecretKey, apiUrl: input.apiUrl });
  const audience = createClerkClient({ machineSecretKey: m.audienceSecretKey, apiUrl: input.apiUrl });
  const instance = createClerkClient({ secretKey: input.secretKey, apiUrl: input.apiUrl });

  await step('m2m.createToken', async () => {
    const t = await issuer.m2m.createToken({ secondsUntilExpiration: 600, claims: { job: 'nightly' } });
    expectKind(t, 'M2MToken', 'createToken');
    check(t.token?.startsWith('mt_') && t.id?.startsWith('mt_'), `got id ${t.id} token ${t.token?.slice(0, 6)}…, want mt_…`);
    check(t.subject === m.issuerId, `subject: got ${t.subject}, want ${m.issuerId}`);
    check(Array.isArray(t.scopes) && t.scopes.includes(m.audienceId), `scopes: got ${JSON.stringify(t.scopes)}, want ${m.audienceId}`);
    check(same(t.claims, { job: 'nightly' }), `claims: got ${JSON.stringify(t.claims)}`);
    check(t.revoked === false && t.expired === false, `got revoked ${t.revoked} expired ${t.expired}`);
    check(t.expiration - t.createdAt === 600e3, `expiration: got ${t.expiration} (created ${t.createdAt}), want 600 s later in Unix milliseconds`);
    st.m2mToken = t.token;
    st.m2mId = t.id;
    return { id: t.id, subject: t.subject, scopes: t.scopes, expiration: t.expiration };
  });

  await step('m2m.createToken with defaults', async () => {
    const t = await issuer.m2m.createToken();
    check(kind(t) === 'M2MToken' && t.token?.startsWith('mt_'), `got ${kind(t)} ${JSON.stringify(t)?.slice(0, 200)}`);
    st.m2mSecond = t.id;
    return { id: t.id };
  });

  await step('m2m.verify with the audience machine key', async () => {
    const t = await audience.m2m.verify({ token: st.m2mToken });
    expectKind(t, 'M2MToken', 'verify');
    check(t.id === st.m2mId && t.subject === m.issuerId && t.token == null, `got id ${t.id} subject ${t.subject} token ${t.token}, want ${st.m2mId} of ${m.issuerId} without the secret`);
    return { id: t.id };
  });

  await step('m2m.verify with the instance secret key', async () => {
    const t = await instance.m2m.verify({ token: st.m2mToken });
    check(kind(t) === 'M2MToken' && t.id === st.m2mId, `got ${kind(t)} ${t?.id}`);
    return { id: t.id };
  });

  await step('m2m.list', async () => {
    const list = await issuer.m2m.list({ subject: m.issuerId });
    check(Array.isArray(list.data) && list.totalCount === 2 && list.data.length === 2, `got ${JSON.stringify(list)?.slice(0, 300)}, want 2 tokens`);
    check(list.data.every((t) => kind(t) === 'M2MToken' && t.token == null), `data: got ${list.data.map((t) => `${kind(t)} token=${t.token}`)}`);
    check(list.data[0].id === st.m2mSecond, `order: got ${list.data.map((t) => t.id)}, want newest first`);
    return { totalCount: list.totalCount };
  });

  await step('m2m.revokeToken', async () => {
    const t = await issuer.m2m.revokeToken({ m2mTokenId: st.m2mId, revocationReason: 'rotated' });
    check(kind(t) === 'M2MToken' && t.revoked === true && t.revocationReason === 'rotated', `got ${kind(t)} revoked ${t?.revoked} reason ${t?.revocationReason}`);
    return { revoked: t.revoked };
  });

  await step('m2m.list with revoked', async () => {
    const live = await issuer.m2m.list({ subject: m.issuerId });
    const all = await issuer.m2m.list({ subject: m.issuerId, revoked: true });
    check(live.totalCount === 1 && all.totalCount === 2, `got ${live.totalCount} live, ${all.totalCount} with revoked; want 1 and 2`);
    return { live: live.totalCount, all: all.totalCount };
  });

  await step('m2m.verify of a revoked token is 404', () => expectAPIError(() => audience.m2m.verify({ token: st.m2mToken }), 404));

  await step('m2m.createToken with the instance secret key is refused', () => expectRefused(() => instance.m2m.createToken()));
}

async function machines(clerk, input, st) {
  await step('machines.create', async () => {
    const m = await clerk.machines.create({ name: `node-made-${input.run}`, defaultTokenTtl: 900 });
    expectKind(m, 'Machine', 'machines.create');
    check(m.id?.startsWith('mch_') && m.secretKey?.startsWith('ak_'), `got id ${m.id} secret ${m.secretKey?.slice(0, 3)}…, want mch_… and ak_…`);
    check(m.instanceId?.startsWith('ins_') && m.defaultTokenTtl === 900 && m.scopedMachines.length === 0,
      `got instanceId ${m.instanceId}, ttl ${m.defaultTokenTtl}, scoped ${m.scopedMachines.length}`);
    st.machineId = m.id;
    st.machineSecret = m.secretKey;
    return { ttl: m.defaultTokenTtl };
  });

  await step('machines.get', async () => {
    const m = await clerk.machines.get(st.machineId);
    check(kind(m) === 'Machine' && m.id === st.machineId && m.secretKey == null, `got ${kind(m)} ${m?.id} secret ${m?.secretKey}, want the machine without its secret`);
    return { id: m.id };
  });

  await step('machines.list', async () => {
    const list = await clerk.machines.list({ limit: 1 });
    check(list.data.length === 1 && list.data[0].id === st.machineId && list.totalCount === 3,
      `got ${list.data.map((m) => m.id)} of ${list.totalCount}, want ${st.machineId} (newest) of 3`);
    return { totalCount: list.totalCount };
  });

  await step('machines.createScope', async () => {
    const s = await clerk.machines.createScope(st.machineId, input.machines.audienceId);
    expectKind(s, 'MachineScope', 'createScope');
    check(s.fromMachineId === st.machineId && s.toMachineId === input.machines.audienceId && s.createdAt > 0, `got ${JSON.stringify(s)}`);
    const m = await clerk.machines.get(st.machineId);
    check(m.scopedMachines.map((x) => x.id).join() === input.machines.audienceId, `scopedMachines: got ${m.scopedMachines.map((x) => x.id)}`);
    return { scoped: m.scopedMachines.length };
  });

  await step('machines: the new secret key mints a token for its scope', async () => {
    const made = createClerkClient({ machineSecretKey: st.machineSecret, apiUrl: input.apiUrl });
    const t = await made.m2m.createToken();
    check(t.subject === st.machineId && t.scopes.includes(input.machines.audienceId), `got subject ${t.subject} scopes ${t.scopes}`);
    return { scopes: t.scopes };
  });

  await step('machines.deleteScope', async () => {
    const s = await clerk.machines.deleteScope(st.machineId, input.machines.audienceId);
    // The SDK maps every answer with deleted to a DeletedObject, as
    // against Clerk, so only object and deleted reach the caller.
    check(kind(s) === 'DeletedObject' && s.object === 'machine_scope' && s.deleted === true, `got ${kind(s)} ${JSON.stringify(s)}`);
    const m = await clerk.machines.get(st.machineId);
    check(m.scopedMachines.length === 0, `scopedMachines after deleteScope: got ${m.scopedMachines.map((x) => x.id)}, want none`);
    await expectAPIError(() => clerk.machines.deleteScope(st.machineId, input.machines.audienceId), 404, 'resource_not_found');
    return { deleted: s.deleted };
  });

  await step('machines.create without a name is 422', () => expectAPIError(() => clerk.machines.create({ name: '' }), 422));

  await step('machines.delete', async () => {
    const d = await clerk.machines.delete(st.machineId);
    check(d.deleted === true && d.id === st.machineId && d.object === 'machine', `got ${JSON.stringify(d)}`);
    await expectAPIError(() => clerk.machines.get(st.machineId), 404, 'resource_not_found');
    return { deleted: d.deleted };
  });

  await step('machines: a machine secret key cannot manage machines', () =>
    expectAPIError(() => createClerkClient({ secretKey: input.machines.issuerSecretKey, apiUrl: input.apiUrl }).machines.list(), 401));
}

async function apiKeys(clerk, input, st) {
  await step('apiKeys.create', async () => {
    const k = await clerk.apiKeys.create({ name: 'node-ci', description: 'deploys', subject: st.userId, scopes: ['read'],
      claims: { team: 'ops' }, createdBy: st.userId, secondsUntilExpiration: 3600 });
    expectKind(k, 'APIKey', 'apiKeys.create');
    check(k.id?.startsWith('ak_') && k.secret?.startsWith('ak_') && k.subject === st.userId, `got id ${k.id} subject ${k.subject}`);
    check(same(k.scopes, ['read']) && same(k.claims, { team: 'ops' }) && k.description === 'deploys', `got ${JSON.stringify(k)}`);
    check(k.expiration - k.createdAt === 3600e3, `expiration: got ${k.expiration} (created ${k.createdAt}), want 3600 s later`);
    st.apiKeyId = k.id;
    st.apiKeySecret = k.secret;
    return { scopes: k.scopes };
  });

  await step('apiKeys.get', async () => {
    const k = await clerk.apiKeys.get(st.apiKeyId);
    check(kind(k) === 'APIKey' && k.id === st.apiKeyId && k.secret == null, `got ${kind(k)} ${k?.id} secret ${k?.secret}`);
    return { id: k.id };
  });

  await step('apiKeys.list by subject', async () => {
    const list = await clerk.apiKeys.list({ subject: st.userId });
    check(list.totalCount === 1 && list.data[0].id === st.apiKeyId && list.data[0].secret == null, `got ${JSON.stringify(list)?.slice(0, 300)}`);
    return { totalCount: list.totalCount };
  });

  await step('apiKeys.verify', async () => {
    const k = await clerk.apiKeys.verify(st.apiKeySecret);
    check(kind(k) === 'APIKey' && k.id === st.apiKeyId && k.secret == null, `got ${kind(k)} ${k?.id}`);
    return { id: k.id };
  });

  await step('apiKeys.verify of an unknown secret is 404', () => expectAPIError(() => clerk.apiKeys.verify(`ak_${'0'.repeat(40)}`), 404));

  await step('apiKeys.revoke', async () => {
    const k = await clerk.apiKeys.revoke({ apiKeyId: st.apiKeyId, revocationReason: 'leaked' });
    check(k.revoked === true && k.revocationReason === 'leaked', `got revoked ${k.revoked} reason ${k.revocationReason}`);
    await expectAPIError(() => clerk.apiKeys.verify(st.apiKeySecret), 404);
    const live = await clerk.apiKeys.list({ subject: st.userId });
    const all = await clerk.apiKeys.list({ subject: st.userId, includeInvalid: true });
    check(live.totalCount === 0 && all.totalCount === 1, `got ${live.totalCount} live, ${all.totalCount} with invalid; want 0 and 1`);
    return { revoked: k.revoked };
  });

  await step('apiKeys.create for an unknown user is 404', () =>
    expectAPIError(() => clerk.apiKeys.create({ name: 'nobody', subject: `user_${'0'.repeat(27)}` }), 404));
}

async function errors(input, st) {
  const bad = createClerkClient({ secretKey: input.badSecretKey, apiUrl: input.apiUrl });
  await step('a bad secret key is 401', async () => {
    const e = await expectAPIError(() => bad.users.getUser(st.userId ?? 'user_x'), 401);
    check(e.code === 'clerk_key_invalid' || e.code === 'authentication_invalid', `code: got ${e.code}`);
    return e;
  });
  await step('a bad secret key is 401 on a list', () => expectAPIError(() => bad.users.getUserList(), 401));
}

async function deleteUser(clerk, st) {
  await step('users.deleteUser', async () => {
    const d = await clerk.users.deleteUser(st.userId);
    check(kind(d) === 'DeletedObject' && d.deleted === true && d.id === st.userId && d.object === 'user',
      `got ${kind(d)} ${JSON.stringify(d)}, want a DeletedObject user ${st.userId}`);
    return d;
  });
  await step('users.getUser deleted is 404', () => expectAPIError(() => clerk.users.getUser(st.userId), 404, 'resource_not_found'));
}

const input = await readStdin();
const clerk = createClerkClient({ secretKey: input.secretKey, apiUrl: input.apiUrl });
const st = {};
await users(clerk, input, st);
await organizations(clerk, input, st);
await sessions(clerk, input, st);
await jwtTemplates(clerk, input, st);
await m2m(input, st);
await machines(clerk, input, st);
await apiKeys(clerk, input, st);
await errors(input, st);
await deleteUser(clerk, st);
process.stdout.write(JSON.stringify({ steps }));
