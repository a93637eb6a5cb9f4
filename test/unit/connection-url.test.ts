import { expect, test } from 'vitest';
import { libpqUrl } from '../../src/db/connection-url.js';

test('an sslmode asks node-postgres for libpq semantics; other URLs are left as they are', () => {
  expect(libpqUrl('postgres://u:p@db.example.com:6543/postgres?sslmode=require')).toBe(
    'postgres://u:p@db.example.com:6543/postgres?sslmode=require&uselibpqcompat=true',
  );
  expect(libpqUrl('postgres://u@h/db?sslmode=verify-full&uselibpqcompat=false')).toBe('postgres://u@h/db?sslmode=verify-full&uselibpqcompat=false');
  expect(libpqUrl('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres://postgres@127.0.0.1:5432/test');
});
