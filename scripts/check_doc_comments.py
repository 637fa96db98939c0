#!/usr/bin/env python3
"""Every public declaration of the library modules has a doc comment (/// or /** */) right above it or above its
attributes. Prints each one that has none and exits 1; run by .ci/run. (DocC's own coverage counts synthesized
members too, so it cannot be the check.)"""
import glob
import re
import sys

declaration = re.compile(r'^(@\w+(\(.*\))?\s+)*(public|open)\s+(?!import\b)(final\s+|static\s+|class\s+|override\s+|'
                         r'convenience\s+|mutating\s+|nonisolated\s+|indirect\s+|required\s+)*'
                         r'(func|var|let|init|struct|class|enum|protocol|typealias|subscript|case|actor|extension)\b')
missing = []
for path in sorted(glob.glob('Sources/**/*.swift', recursive=True)):
    if '/mambakit/' in path or '/_MambaTestSupport/' in path:
        continue  # the executable and the test helpers are not library API
    lines = open(path, encoding='utf-8').read().split('\n')
    for i, line in enumerate(lines):
        text = line.strip()
        if not declaration.match(text) or re.match(r'(public|open)\s+extension\b', text):
            continue
        j = i - 1
        while j >= 0 and lines[j].strip().startswith('@'):
            j -= 1
        above = lines[j].strip() if j >= 0 else ''
        if not (above.startswith('///') or above.endswith('*/')):
            missing.append(f'{path}:{i + 1}: {text[:100]}')
for item in missing:
    print(f'no doc comment: {item}')
print(f'{len(missing)} public declarations without a doc comment')
sys.exit(1 if missing else 0)
