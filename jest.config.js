// LWC unit tests (sfdx-lwc-jest): the components under force-app, their __tests__ folders.
const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

module.exports = {
  ...jestConfig,
  roots: ['<rootDir>/force-app'],
  modulePathIgnorePatterns: ['<rootDir>/.localdevserver', '<rootDir>/target', '<rootDir>/infra'],
  moduleNameMapper: {
    ...jestConfig.moduleNameMapper,
    '^lightning/actions$': '<rootDir>/tests/salesforce/jest-mocks/lightning/actions',
    '^lightning/navigation$': '<rootDir>/tests/salesforce/jest-mocks/lightning/navigation',
  },
};
