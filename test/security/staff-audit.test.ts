/**
 * Issue 14 item 4 and finding 5: the grant matrix (ops cannot give risk or admin powers), every
 * staff action in the hash-chained audit log, the log append-only for the app's database role,
 * and `fenqi audit verify` failing on a changed, deleted or reordered row, naming it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GRANT_MATRIX, ROLE_RANK, STAFF_ROLES } from '../../src/staff/grants.ts';
import { openPostgres } from '../../src/store/db.ts';
import { runFenqi } from '../harness/cli.ts';
import { openStaffLab, type StaffLab } from './staff-support.ts';

describe('staff grants and the hash-chained audit log', () => {
  let lab: StaffLab;
  let opsToken: string;
  let adminToken: string;
  before(async () => {
    lab = await openStaffLab('staff-audit');
    opsToken = lab.token('ops', lab.demo.staff.ops.id);
    // (on a main without the admin role the demo has none: the grant tests then fail on their own
    // assertions, not in this hook)
    const admin = lab.demo.staff.admin as typeof lab.demo.staff.admin | undefined;
    adminToken = admin ? lab.token('admin', admin.id) : '';
  });
  after(async () => lab?.close());

  test('the grant matrix never lets a role give a role ranked above its own', () => {
    for (const granter of STAFF_ROLES) {
      for (const role of GRANT_MATRIX[granter])
        assert.ok(ROLE_RANK[role] <= ROLE_RANK[granter], `${granter} -> ${role}`);
    }
    assert.deepEqual([...GRANT_MATRIX.ops], ['ops']);
    assert.deepEqual([...GRANT_MATRIX.risk], []);
  });

  test('ops cannot create a risk or admin user (finding 5); an admin can, and both creations are audited', async () => {
    for (const role of ['risk', 'admin']) {
      const res = await lab.call('POST', '/v1/staff', opsToken, {
        username: `ops-made-${role}`,
        password: 'a-long-password',
        role,
      });
      assert.equal(res.status, 403, res.body);
      assert.equal(res.json().error.code, 'ROLE_NOT_GRANTABLE');
    }
    const risk = lab.token('risk', lab.demo.staff.risk.id);
    const byRisk = await lab.call('POST', '/v1/staff', risk, {
      username: 'risk-made',
      password: 'a-long-password',
      role: 'risk',
    });
    assert.equal(byRisk.status, 403, byRisk.body);
    const opsMade = await lab.call('POST', '/v1/staff', opsToken, {
      username: 'ops-two',
      password: 'a-long-password',
      role: 'ops',
    });
    assert.equal(opsMade.status, 201, opsMade.body);
    const adminMade = await lab.call('POST', '/v1/staff', adminToken, {
      username: 'analyst-two',
      password: 'a-long-password',
      role: 'risk',
    });
    assert.equal(adminMade.status, 201, adminMade.body);

    const audit = (await lab.call('GET', '/v1/audit?limit=10', adminToken)).json().items as {
      action: string;
      record_id: string;
      actor_id: string;
      actor_role: string;
    }[];
    const created = audit.filter((e) => e.action === 'staff_created');
    assert.deepEqual(
      created.map((e) => [e.record_id, e.actor_role, e.actor_id]).sort(),
      [
        [opsMade.json().id, 'ops', lab.demo.staff.ops.id.toString()],
        [adminMade.json().id, 'admin', lab.demo.staff.admin.id.toString()],
      ].sort(),
    );
    assert.equal((await lab.call('GET', '/v1/audit', opsToken)).status, 403, 'the audit log is for admins');
  });

  test('a role grant follows the matrix both ways, never on oneself, and is audited', async () => {
    const opsUser = await lab.staff('ops', 'ops-to-promote');
    const promote = await lab.call('PUT', `/v1/staff/${opsUser.id}/role`, opsToken, { role: 'risk' });
    assert.equal(promote.status, 403, promote.body);
    assert.equal(promote.json().error.code, 'ROLE_NOT_GRANTABLE');
    const demote = await lab.call('PUT', `/v1/staff/${lab.demo.staff.risk.id}/role`, opsToken, {
      role: 'ops',
    });
    assert.equal(demote.status, 403, 'ops cannot take risk powers away either');
    const self = await lab.call('PUT', `/v1/staff/${lab.demo.staff.admin.id}/role`, adminToken, {
      role: 'admin',
    });
    assert.equal(self.status, 403);
    const granted = await lab.call('PUT', `/v1/staff/${opsUser.id}/role`, adminToken, { role: 'risk' });
    assert.equal(granted.status, 200, granted.body);
    assert.equal(granted.json().role, 'risk');
    const [row] = await lab.platform.db.sql`
      select actor_id, action, before_sha256, after_sha256 from staff_audit_log
      where record_type = 'staff' and record_id = ${opsUser.id.toString()} order by seq desc limit 1`;
    assert.equal(row!.action, 'staff_role_granted');
    assert.equal(BigInt(row!.actor_id), lab.demo.staff.admin.id);
    assert.ok(
      row!.before_sha256 &&
        row!.after_sha256 &&
        !Buffer.from(row!.before_sha256).equals(Buffer.from(row!.after_sha256)),
    );
  });

  test('concurrent staff actions chain one after the other', async () => {
    const made = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        lab.call('POST', '/v1/staff', adminToken, {
          username: `parallel-${i}`,
          password: 'a-long-password',
          role: 'ops',
        }),
      ),
    );
    for (const res of made) assert.equal(res.status, 201, res.body);
    const verified = await lab.call('GET', '/v1/audit/verify', adminToken);
    assert.equal(verified.status, 200, verified.body);
    assert.equal(verified.json().ok, true, verified.body);
  });

  test('the app role cannot update or delete audit rows', async () => {
    const app = openPostgres(lab.pg.appUrl, { max: 1, onnotice: () => {} });
    try {
      for (const statement of [
        'update staff_audit_log set action = $1',
        'delete from staff_audit_log where action = $1',
        'truncate staff_audit_log',
      ]) {
        const params = statement.includes('$1') ? ['x'] : [];
        await assert.rejects(
          app.unsafe(statement, params),
          (err: { code?: string }) => err.code === '42501',
          statement,
        );
      }
    } finally {
      await app.end();
    }
  });

  test('fenqi audit verify fails on a changed, a deleted and a reordered row, naming the first bad one', async () => {
    const cli = (args: string[]) => runFenqi(args, lab.env);
    const ok = await cli(['audit', 'verify']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /audit verify: OK/);
    // Tampering as the owner would: straight in PostgreSQL, triggers off.
    const owner = openPostgres(lab.pg.url, { max: 1, onnotice: () => {} });
    try {
      await owner`create table audit_copy as select * from staff_audit_log`;
      const restore = async () => {
        await owner.begin(async (tx) => {
          await tx`alter table staff_audit_log disable trigger user`;
          await tx`delete from staff_audit_log`;
          await tx`insert into staff_audit_log select * from audit_copy`;
          await tx`alter table staff_audit_log enable trigger user`;
        });
      };
      const tamper = async (statements: string[]) => {
        await owner.begin(async (tx) => {
          await tx`alter table staff_audit_log disable trigger user`;
          for (const s of statements) await tx.unsafe(s);
          await tx`alter table staff_audit_log enable trigger user`;
        });
      };
      const cases: [string, string[], string][] = [
        ['changed', [`update staff_audit_log set record_id = '1' where seq = 3`], '3'],
        ['deleted', [`delete from staff_audit_log where seq = 2`], '2'],
        [
          'reordered',
          [
            `update staff_audit_log set seq = 1000000 where seq = 4`,
            `update staff_audit_log set seq = 4 where seq = 5`,
            `update staff_audit_log set seq = 5 where seq = 1000000`,
          ],
          '4',
        ],
        [
          'newest deleted',
          [`delete from staff_audit_log where seq = (select max(seq) from staff_audit_log)`],
          '',
        ],
      ];
      const [top] = await owner<{ max: string }[]>`select max(seq)::text as max from staff_audit_log`;
      const max = top!.max;
      for (const [what, statements, seq] of cases) {
        await tamper(statements);
        const bad = await cli(['audit', 'verify', '--json']);
        assert.equal(bad.code, 1, `${what}: ${bad.stdout}${bad.stderr}`);
        const result = JSON.parse(bad.stdout);
        assert.equal(result.ok, false);
        assert.equal(result.firstBadSeq, seq || max, `${what}: ${bad.stdout}`);
        const route = (await lab.call('GET', '/v1/audit/verify', adminToken)).json();
        assert.equal(route.ok, false, what);
        await restore();
        const again = await cli(['audit', 'verify']);
        assert.equal(again.code, 0, `${what} restored: ${again.stdout}`);
      }
    } finally {
      await owner`drop table if exists audit_copy`;
      await owner.end();
    }
  });
});
