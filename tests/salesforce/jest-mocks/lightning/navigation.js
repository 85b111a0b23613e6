// Jest mock of lightning/navigation that remembers the last page reference navigated to
// (the stub in @salesforce/sfdx-lwc-jest drops it), the pattern of Salesforce's lwc-recipes.
const Navigate = Symbol('Navigate');
const GenerateUrl = Symbol('GenerateUrl');
let navigatedTo;

export const CurrentPageReference = jest.fn();

export const NavigationMixin = (Base) =>
    class extends Base {
        [Navigate](pageReference, replace) {
            navigatedTo = { pageReference, replace };
        }
        [GenerateUrl](pageReference) {
            return Promise.resolve(`https://example.invalid/${pageReference.type}`);
        }
    };
NavigationMixin.Navigate = Navigate;
NavigationMixin.GenerateUrl = GenerateUrl;

/** The page reference of the last Navigate call (undefined when none). */
export const getNavigateCalledWith = () => navigatedTo;
export const resetNavigation = () => {
    navigatedTo = undefined;
};
