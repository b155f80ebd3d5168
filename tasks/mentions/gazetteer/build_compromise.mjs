// Regenerates compromise.tsv, the name lists the entity rules read, from the lexicon of
// compromise (https://github.com/spencermountain/compromise, MIT, Spencer Kelly):
//
//   cd "$(mktemp -d)" && npm install compromise@14.17.0 \
//     && node /path/to/tasks/gazetteer/build_compromise.mjs > /path/to/tasks/gazetteer/compromise.tsv
//
// Kinds: ORG (organisations, sports teams), PERSON (well-known people), GIVEN and FAMILY
// (given and family names), and WORD (plain English words: never a name alone).
import { createRequire } from 'module'
import path from 'path'

const require = createRequire(path.join(process.cwd(), 'noop.js'))
const nlp = require('compromise')
const version = nlp.version
const KINDS = {
  Organization: 'ORG', SportsTeam: 'ORG', Person: 'PERSON', FirstName: 'GIVEN',
  MaleName: 'GIVEN', FemaleName: 'GIVEN', LastName: 'FAMILY',
}
const NAME_TAGS = new Set([
  'Organization', 'SportsTeam', 'Person', 'FirstName', 'MaleName', 'FemaleName', 'LastName',
  'Place', 'Country', 'City', 'Region', 'ProperNoun', 'Honorific', 'Actor',
])
const rows = new Set()
for (const [entry, tag] of Object.entries(nlp.world().model.one.lexicon)) {
  const tags = Array.isArray(tag) ? tag : [tag]
  for (const t of tags) if (KINDS[t]) rows.add(`${KINDS[t]}\t${entry}`)
  if (/^[a-z]+$/.test(entry) && !tags.some((t) => NAME_TAGS.has(t))) rows.add(`WORD\t${entry}`)
}
console.log(`# from the lexicon of compromise ${version} (MIT, (c) Spencer Kelly); regenerate with build_compromise.mjs`)
console.log([...rows].sort().join('\n'))
