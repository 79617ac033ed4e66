/**
 * The embedded broker's users, checked as a whole at config load (tester5 fault 12): two users with one username
 * passed `check-config` and the broker let the first in (the second's password and role silently ignored); a `line`
 * user with `lines: []` or a line the gateway does not command (`conchin`) passed and got an ACL granting nothing.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../gateway/config/load.js';

const user = (username: string, role: 'admin' | 'viewer' | 'line', lines?: string[]) => ({ username, passwordHash: 'scrypt:a:b', role, ...(lines ? { lines } : {}) });
const problems = (users: unknown[]): string[] => {
  try {
    loadConfig({ env: {}, overrides: { mqtt: { embedded: { users } } } });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
};

describe('mqtt.embedded.users', () => {
  it('a username given twice is refused, naming the first use', () => {
    expect(problems([user('scada', 'viewer'), user('scada', 'admin')])).toEqual(['/mqtt/embedded/users/1/username: "scada" is already used at /mqtt/embedded/users/0; each MQTT user needs its own username']);
  });

  it('a line user with no line, or with a line the gateway does not command, is refused, naming the known lines', () => {
    expect(problems([user('plc', 'line', [])])).toEqual(['/mqtt/embedded/users/0/lines: a line user needs at least one line (known lines: mixing, refining, conching, tempering)']);
    expect(problems([user('plc', 'line')])).toEqual(['/mqtt/embedded/users/0/lines: a line user needs at least one line (known lines: mixing, refining, conching, tempering)']);
    expect(problems([user('plc', 'line', ['conching', 'conchin'])])).toEqual(['/mqtt/embedded/users/0/lines/1: "conchin" is not a line the gateway commands (known lines: mixing, refining, conching, tempering)']);
  });

  it('distinct users, and line users on known lines, load', () => {
    expect(problems([user('scada', 'viewer'), user('ops', 'admin'), user('mixplc', 'line', ['mixing']), user('conchplc', 'line', ['conching', 'refining'])])).toEqual([]);
  });
});
